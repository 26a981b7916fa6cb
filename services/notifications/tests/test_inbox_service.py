"""The Inbox+ over the run's RabbitMQ and database: documents events in, list_inbox / mark_inbox_read out.

The documents service's events are published as its outbox relay publishes them (`fire`); crm's answer
about whom to tell is a stand-in (`fake_crm.recipients`).
"""
from __future__ import annotations

import functools
import uuid

import pytest
from nameko.standalone.rpc import ServiceRpcProxy
from sqlalchemy import select
from sqlalchemy.orm import Session

from notifications.models import InboxItem
from shared.errors import Forbidden, NotFound, Unauthorized, ValidationFailed

FIRM = str(uuid.uuid4())
ACCOUNT = str(uuid.uuid4())
ME, COLLEAGUE, CREATOR = (str(uuid.uuid4()) for _ in range(3))


def file_request(**changes):
    """The FR of documents' events."""
    return {"id": str(uuid.uuid4()), "firm_id": FIRM, "account_id": ACCOUNT, "folder_id": str(uuid.uuid4()),
            "message": "W-2 for 2025", "status": "open", "link_id": str(uuid.uuid4()), "created_by": CREATOR,
            "created_at": "2026-11-23T09:00:00Z", "updated_at": "2026-11-23T09:00:00Z", **changes}


UPLOADER = {"name": "Jane Doe", "email": "jane@bank.example"}


def files_received(fr, count, *names):
    return {"file_request": fr, "uploader": UPLOADER, "received_count": count,
            "documents": [{"id": str(uuid.uuid4()), "name": n, "size": 100, "content_type": "application/pdf"}
                          for n in names]}


@pytest.fixture
def fire(fire):
    """Events about the account ACCOUNT of the firm FIRM (their envelope says so)."""
    return functools.partial(fire, firm_id=FIRM, account_id=ACCOUNT)


@pytest.fixture
def recipients(fake_crm, monkeypatch):
    """crm answers: tell me and my colleague."""
    monkeypatch.setattr(fake_crm, "recipients", [ME, COLLEAGUE])
    return fake_crm


@pytest.fixture
def items(engine):
    """`items()`: every inbox item, latest first."""

    def read():
        with Session(engine) as session:
            return list(session.scalars(select(InboxItem).order_by(InboxItem.updated_at.desc())))

    return read


def staff(user_id=ME, firm_id=FIRM, kind="staff"):
    return {"firm_id": firm_id, "user_id": user_id, "user_kind": kind, "request_id": "req-1"}


def call(config, method, context, *args):
    with ServiceRpcProxy("notifications", config, timeout=10, context_data=context) as notifications:
        return getattr(notifications, method)(*args)


# -- events in ---------------------------------------------------------------------------------------------


def test_files_received_give_each_recipient_one_unread_item(recipients, fire, items):
    fr = file_request()
    fire("file_request_files_received", files_received(fr, 3, "a.pdf", "b.pdf", "c.pdf"),
         handler="on_file_request_files_received")
    found = items()
    assert sorted(str(i.user_id) for i in found) == sorted([ME, COLLEAGUE])
    assert {(i.title, i.unread, str(i.subject_id)) for i in found} == {
        ("3 files received for “W-2 for 2025”", True, fr["id"])}


def test_crm_is_asked_about_the_account_naming_the_requests_creator(recipients, fire):
    fr = file_request()
    fire("file_request_files_received", files_received(fr, 1, "a.pdf"), handler="on_file_request_files_received")
    assert recipients.calls == [("list_account_recipients", {"firm_id": FIRM, "account_id": ACCOUNT,
                                                              "also": [CREATOR]})]


def test_a_request_whose_creator_is_unknown_names_nobody_to_crm(recipients, fire):
    fire("file_request_files_received", files_received(file_request(created_by=None), 1, "a.pdf"),
         handler="on_file_request_files_received")
    assert recipients.calls[0][1]["also"] == []


def test_a_second_arrival_updates_the_same_items(recipients, fire, items):
    fr = file_request()
    fire("file_request_files_received", files_received(fr, 1, "a.pdf"), handler="on_file_request_files_received")
    fire("file_request_files_received", files_received(fr, 2, "b.pdf"), handler="on_file_request_files_received")
    found = items()
    assert len(found) == 2 and {(i.count, i.event_count) for i in found} == {(2, 2)}


def test_the_same_event_delivered_twice_is_applied_once(recipients, fire, items):
    fr = file_request()
    body = fire("file_request_files_received", files_received(fr, 1, "a.pdf"),
                handler="on_file_request_files_received")
    fire("file_request_files_received", body["data"], body=body, handler="on_file_request_files_received")
    assert {i.event_count for i in items()} == {1}


def test_done_uploading_updates_the_requests_items_once_per_event(recipients, fire, items):
    fr = file_request()
    fire("file_request_files_received", files_received(fr, 2, "a.pdf", "b.pdf"),
         handler="on_file_request_files_received")
    body = fire("file_request_done", {"file_request": fr, "uploader": UPLOADER, "received_count": 2},
                handler="on_file_request_done")
    fire("file_request_done", body["data"], body=body, handler="on_file_request_done")
    found = items()
    assert len(found) == 2
    assert {(i.title, i.unread, i.event_count) for i in found} == {
        ("Jane Doe is done uploading for “W-2 for 2025”", True, 2)}


def test_a_portal_clients_done_uploading_makes_an_item_per_recipient_for_the_account(recipients, fire, items):
    fire("client_done_uploading", {"account_id": ACCOUNT, "account_name": "Smith Family",
                                   "user": {"id": str(uuid.uuid4()), "name": "Cleo", "email": "cleo@x.example"}},
         handler="on_client_done_uploading")
    found = items()
    assert sorted(str(i.user_id) for i in found) == sorted([ME, COLLEAGUE])
    assert {(i.subject_type, str(i.subject_id), i.title) for i in found} == {
        ("account_uploads", ACCOUNT, "Cleo is done uploading for Smith Family")}
    assert recipients.calls == [("list_account_recipients", {"firm_id": FIRM, "account_id": ACCOUNT, "also": []})]


def test_an_event_that_lacks_what_the_inbox_needs_is_dropped_without_stopping_the_handler(recipients, fire, items):
    fire("file_request_files_received", {"file_request": {"id": "not-a-uuid"}, "received_count": 1},
         handler="on_file_request_files_received")
    fire("file_request_files_received", files_received(file_request(), 1, "a.pdf"),
         handler="on_file_request_files_received")
    assert len(items()) == 2


def test_an_event_whose_envelope_names_no_account_is_dropped(recipients, fire, items):
    fire("file_request_files_received", files_received(file_request(), 1, "a.pdf"), account_id=None,
         handler="on_file_request_files_received")
    assert items() == [] and recipients.calls == []


# -- list_inbox and mark_inbox_read ---------------------------------------------------------------------


def test_list_inbox_is_the_callers_own_items_latest_first(recipients, fire, config):
    first, second = file_request(message="First"), file_request(message="Second")
    for fr in (first, second):
        fire("file_request_files_received", files_received(fr, 1, "a.pdf"), handler="on_file_request_files_received")
    page = call(config, "list_inbox", staff(), {})
    assert [i["subject_id"] for i in page["items"]] == [second["id"], first["id"]]
    assert page["next_cursor"] is None
    assert call(config, "list_inbox", staff(user_id=str(uuid.uuid4())), {}) == {"items": [], "next_cursor": None}


def test_an_item_has_the_documented_fields(recipients, fire, config):
    fr = file_request()
    fire("file_request_files_received", files_received(fr, 1, "a.pdf"), handler="on_file_request_files_received")
    [item] = call(config, "list_inbox", staff(), {})["items"]
    assert set(item) == {"id", "type", "subject_id", "account_id", "title", "body", "count", "event_count", "data",
                         "unread", "read_at", "created_at", "updated_at"}
    assert (item["type"], item["account_id"], item["count"], item["unread"], item["read_at"]) == (
        "file_request", ACCOUNT, 1, True, None)
    assert item["data"]["file_request"]["id"] == fr["id"] and item["updated_at"].endswith("Z")


def test_mark_inbox_read_marks_the_callers_item_and_unread_filters_it_out(recipients, fire, config):
    fire("file_request_files_received", files_received(file_request(), 1, "a.pdf"),
         handler="on_file_request_files_received")
    [item] = call(config, "list_inbox", staff(), {"unread": "true"})["items"]
    read = call(config, "mark_inbox_read", staff(), item["id"])
    assert read["id"] == item["id"] and read["unread"] is False and read["read_at"]
    assert call(config, "list_inbox", staff(), {"unread": "true"})["items"] == []
    assert [i["id"] for i in call(config, "list_inbox", staff(), {"unread": "false"})["items"]] == [item["id"]]


@pytest.mark.parametrize("caller", [staff(user_id=COLLEAGUE), staff(firm_id=str(uuid.uuid4()))],
                         ids=["another user of the firm", "the same user id in another firm"])
def test_someone_elses_item_is_not_found(recipients, fire, config, caller):
    fire("file_request_files_received", files_received(file_request(), 1, "a.pdf"),
         handler="on_file_request_files_received")
    mine = next(i for i in call(config, "list_inbox", staff(), {})["items"])
    with pytest.raises(NotFound):
        call(config, "mark_inbox_read", caller, mine["id"])
    assert call(config, "list_inbox", staff(), {})["items"][0]["unread"] is True


def test_an_id_that_is_no_uuid_is_not_found(notifications, config):
    with pytest.raises(NotFound):
        call(config, "mark_inbox_read", staff(), "not-a-uuid")


@pytest.mark.parametrize("query", [{"limit": 0}, {"limit": 201}, {"cursor": "garbage"}, {"unread": "maybe"},
                                   {"since": "yesterday"}])
def test_bad_inbox_query_parameters_are_a_validation_error(notifications, config, query):
    with pytest.raises(ValidationFailed):
        call(config, "list_inbox", staff(), query)


@pytest.mark.parametrize("method,args", [("list_inbox", ({},)), ("mark_inbox_read", (str(uuid.uuid4()),))])
def test_the_inbox_needs_a_staff_caller(notifications, config, method, args):
    with pytest.raises(Unauthorized):
        call(config, method, {}, *args)
    with pytest.raises(Forbidden):
        call(config, method, staff(kind="client"), *args)
