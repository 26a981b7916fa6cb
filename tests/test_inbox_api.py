"""API.md's Inbox+ (`GET /api/v1/inbox?unread=`, `POST /api/v1/inbox/{id}/read`) over the running system.

The documents service's events are published as its outbox relay would (`documents_event`); crm decides
who hears about them, notifications keeps the items. Items appear shortly after the event: the tests poll.
"""
from __future__ import annotations

import uuid

from shared.contracts.documents import CLIENT_DONE_UPLOADING, FILE_REQUEST_DONE, FILE_REQUEST_FILES_RECEIVED
from tests.samples import employee
from tests.waiting import eventually


def inbox(api, **params):
    resp = api.get("/api/v1/inbox", params=params)
    assert resp.status_code == 200, resp.text
    return resp.json()["items"]


def about(subject_id):
    return lambda items: [i for i in items if i["subject_id"] == subject_id]


def file_request(firm, account, created_by, message="W-2 for 2025"):
    return {"id": str(uuid.uuid4()), "firm_id": firm["firm"]["id"], "account_id": account["id"],
            "folder_id": str(uuid.uuid4()), "message": message, "status": "open", "link_id": str(uuid.uuid4()),
            "created_by": created_by, "created_at": "2026-11-23T09:00:00Z", "updated_at": "2026-11-23T09:00:00Z"}


def files_received(fr, count):
    return {"file_request": fr, "uploader": {"name": "Jane Doe", "email": "jane@bank.example"},
            "documents": [{"id": str(uuid.uuid4()), "name": f"{n}.pdf", "size": 10, "content_type": "application/pdf"}
                          for n in range(count)], "received_count": count}


def received(documents_event, fr, count):
    documents_event(FILE_REQUEST_FILES_RECEIVED, files_received(fr, count), firm_id=fr["firm_id"],
                    account_id=fr["account_id"])


def new_account(firm, name="Smith Family"):
    return firm["api"].post("/api/v1/accounts", json={"name": name, "type": "family"}).json()


def test_files_received_reach_the_requests_creator_and_the_accounts_team_as_one_item_each(
        firm, mailbox, anonymous, api_for, documents_event):
    account = new_account(firm)
    emma = employee(firm, mailbox, anonymous, api_for, account)
    fr = file_request(firm, account, created_by=firm["user"]["id"])
    received(documents_event, fr, 1)
    received(documents_event, fr, 3)
    for api in (firm["api"], emma):
        [item] = eventually(lambda a=api: about(fr["id"])(inbox(a)), lambda items: items and items[0]["count"] == 3)
        assert (item["type"], item["account_id"], item["unread"]) == ("file_request", account["id"], True)
        assert item["title"] == "3 files received for “W-2 for 2025”"


def test_done_uploading_updates_that_item(firm, documents_event):
    account = new_account(firm)
    fr = file_request(firm, account, created_by=firm["user"]["id"])
    received(documents_event, fr, 2)
    eventually(lambda: about(fr["id"])(inbox(firm["api"])), bool)
    documents_event(FILE_REQUEST_DONE, {"file_request": fr, "uploader": {"name": "Jane Doe", "email": "j@b.example"},
                                        "received_count": 2}, firm_id=fr["firm_id"], account_id=fr["account_id"])
    [item] = eventually(lambda: about(fr["id"])(inbox(firm["api"])),
                        lambda items: items and "done uploading" in items[0]["title"])
    assert item["title"] == "Jane Doe is done uploading for “W-2 for 2025”" and item["event_count"] == 2


def test_a_portal_clients_done_uploading_reaches_the_owner_when_nobody_is_assigned(firm, documents_event):
    account = new_account(firm)
    documents_event(CLIENT_DONE_UPLOADING, {
        "account_id": account["id"], "account_name": account["name"],
        "user": {"id": str(uuid.uuid4()), "name": "Cleo Client", "email": "cleo@home.example"}},
        firm_id=firm["firm"]["id"], account_id=account["id"])
    [item] = eventually(lambda: about(account["id"])(inbox(firm["api"])), bool)
    assert (item["type"], item["title"]) == ("account_uploads", "Cleo Client is done uploading for Smith Family")


def test_reading_an_item_is_the_readers_own_and_unread_filters(firm, mailbox, anonymous, api_for, documents_event):
    account = new_account(firm)
    emma = employee(firm, mailbox, anonymous, api_for, account)
    fr = file_request(firm, account, created_by=firm["user"]["id"])
    received(documents_event, fr, 1)
    [mine] = eventually(lambda: about(fr["id"])(inbox(firm["api"])), bool)
    eventually(lambda: about(fr["id"])(inbox(emma)), bool)
    read = firm["api"].post(f"/api/v1/inbox/{mine['id']}/read")
    assert read.status_code == 200 and read.json()["unread"] is False
    assert about(fr["id"])(inbox(firm["api"], unread="true")) == []
    assert [i["id"] for i in about(fr["id"])(inbox(firm["api"], unread="false"))] == [mine["id"]]
    assert about(fr["id"])(inbox(emma, unread="true"))[0]["unread"] is True  # hers is still unread
    assert emma.post(f"/api/v1/inbox/{mine['id']}/read").status_code == 404  # the owner's, not hers


def test_another_firm_never_sees_or_reads_an_item(firm, signup, documents_event):
    account = new_account(firm)
    fr = file_request(firm, account, created_by=firm["user"]["id"])
    received(documents_event, fr, 1)
    [item] = eventually(lambda: about(fr["id"])(inbox(firm["api"])), bool)
    other = signup("Theirs")["api"]
    assert about(fr["id"])(inbox(other)) == []
    resp = other.post(f"/api/v1/inbox/{item['id']}/read")
    assert resp.status_code == 404 and item["id"] not in resp.text
    assert about(fr["id"])(inbox(firm["api"]))[0]["unread"] is True


def test_bad_inbox_parameters_are_422(firm):
    for params in ({"unread": "maybe"}, {"limit": 0}, {"cursor": "garbage"}):
        assert firm["api"].get("/api/v1/inbox", params=params).status_code == 422


def test_the_inbox_needs_a_staff_token(anonymous):
    assert anonymous.get("/api/v1/inbox").status_code == 401
    assert anonymous.post(f"/api/v1/inbox/{uuid.uuid4()}/read").status_code == 401
