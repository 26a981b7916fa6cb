"""API.md's contacts, access and jobs rows, over the running system."""
from __future__ import annotations

import pytest


@pytest.fixture
def account_with_jane(firm):
    api = firm["api"]
    account = api.post("/api/v1/accounts", json={"name": "Smith Family", "type": "family"}).json()
    jane = api.post("/api/v1/contacts", json={"first_name": "Jane", "last_name": "Smith",
                                              "emails": ["jane-" + firm["email"], "jane.work-" + firm["email"]]})
    assert jane.status_code == 201, jane.text
    linked = api.post(f"/api/v1/accounts/{account['id']}/contacts", json={"contact_id": jane.json()["id"]})
    assert linked.status_code == 201, linked.text
    return api, account, jane.json()


def test_access_lists_one_row_per_email_switched_off(account_with_jane):
    api, account, jane = account_with_jane
    listed = api.get(f"/api/v1/accounts/{account['id']}/access").json()
    assert listed["next_cursor"] is None
    rows = listed["items"]
    assert [(r["email"], r["contact_id"], r["login"], r["notify"], r["email_sync"], r["status"]) for r in rows] == [
        (e, jane["id"], False, False, False, "none") for e in jane["emails"]]


def test_login_on_invites_and_off_removes(account_with_jane):
    api, account, jane = account_with_jane
    path = f"/api/v1/accounts/{account['id']}/access/{jane['emails'][0]}"
    on = api.patch(path, json={"login": True, "notify": True})
    assert on.status_code == 200 and on.json()["status"] == "invited" and on.json()["notify"] is True
    off = api.patch(path, json={"login": False})
    assert off.json()["status"] == "none" and off.json()["login"] is False


def test_reinvite_needs_a_pending_invitation(account_with_jane):
    api, account, jane = account_with_jane
    path = f"/api/v1/accounts/{account['id']}/access/{jane['emails'][0]}"
    assert api.post(path + "/reinvite").status_code == 409
    api.patch(path, json={"login": True})
    assert api.post(path + "/reinvite").json()["status"] == "invited"


def test_bulk_update_is_all_or_nothing(account_with_jane):
    api, account, jane = account_with_jane
    items = [{"account_id": account["id"], "email": jane["emails"][0], "email_sync": True},
             {"account_id": account["id"], "email": "nobody@example.com", "email_sync": True}]
    assert api.patch("/api/v1/access", json={"items": items}).status_code == 404
    rows = api.get(f"/api/v1/accounts/{account['id']}/access").json()["items"]
    assert not any(r["email_sync"] for r in rows)
    assert api.patch("/api/v1/access", json={"items": items[:1]}).json()["items"][0]["email_sync"] is True


def test_bulk_update_refuses_more_than_1000_rows(firm):
    items = [{"account_id": "00000000-0000-0000-0000-000000000000", "email": f"a{i}@x.example"}
             for i in range(1001)]
    assert firm["api"].patch("/api/v1/access", json={"items": items}).status_code == 422


def test_notification_categories_default_on(account_with_jane):
    api, account, jane = account_with_jane
    path = f"/api/v1/accounts/{account['id']}/access/{jane['emails'][0]}/notifications"
    assert set(api.get(path).json()["categories"].values()) == {True}
    changed = api.put(path, json={"categories": {"invoices_payments": False}}).json()["categories"]
    assert changed["invoices_payments"] is False and changed["documents_upload"] is True
    assert api.put(path, json={"categories": {"spam": True}}).status_code == 422


def test_unlinking_removes_the_contacts_rows(account_with_jane):
    api, account, jane = account_with_jane
    assert api.delete(f"/api/v1/accounts/{account['id']}/contacts/{jane['id']}").status_code == 204
    assert api.get(f"/api/v1/accounts/{account['id']}/access").json()["items"] == []


def test_contact_email_taken_in_the_firm_is_409(account_with_jane):
    api, _, jane = account_with_jane
    resp = api.post("/api/v1/contacts", json={"first_name": "X", "last_name": "Y", "emails": [jane["emails"][0]]})
    assert resp.status_code == 409


def test_jobs_create_list_patch(account_with_jane):
    api, account, _ = account_with_jane
    job = api.post(f"/api/v1/accounts/{account['id']}/jobs",
                   json={"name": "2026 return", "status": "Preparing", "client_status": "In progress"})
    assert job.status_code == 201
    patched = api.patch(f"/api/v1/jobs/{job.json()['id']}", json={"client_status": "Ready"})
    assert patched.json()["client_status"] == "Ready"
    assert [j["id"] for j in api.get(f"/api/v1/accounts/{account['id']}/jobs").json()["items"]] == [job.json()["id"]]


def test_account_team_assignment(firm):
    api = firm["api"]
    account = api.post("/api/v1/accounts", json={"name": "A", "type": "company"}).json()
    member = api.post("/api/v1/team", json={"name": "E", "email": "e-" + firm["email"], "role": "employee"}).json()
    resp = api.put(f"/api/v1/accounts/{account['id']}/team", json={"user_ids": [member["id"]]})
    assert resp.status_code == 200 and [m["id"] for m in resp.json()["items"]] == [member["id"]]


def test_portal_settings_read_and_change(firm):
    api = firm["api"]
    assert api.get("/api/v1/settings/portal").json()["clients_create_chats"] is True
    changed = api.patch("/api/v1/settings/portal", json={"announcement": True, "announcement_text": "Office closed"})
    assert changed.status_code == 200 and changed.json()["announcement_text"] == "Office closed"
    assert api.get("/api/v1/settings/portal").json()["announcement"] is True
    assert api.patch("/api/v1/settings/portal", json={"announcement": "maybe"}).status_code == 422
