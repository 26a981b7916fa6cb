"""The activity feed over the run's RabbitMQ and database: crm and links events in, list_activity out.

Events are published to `crm.events` / `links.events` as the outbox relay publishes them (the same
envelope, routing key and `nameko.*` context headers).
"""
from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from nameko.amqp.publish import Publisher
from nameko.standalone.events import get_event_exchange
from nameko.standalone.rpc import ServiceRpcProxy
from nameko.testing.services import entrypoint_waiter
from sqlalchemy import select
from sqlalchemy.orm import Session

from notifications import activity
from notifications.activity import Entry
from notifications.models import Activity
from notifications.service import NotificationsService
from shared import entrypoints
from shared.errors import Forbidden, Unauthorized, ValidationFailed
from shared.rpc import rpc

OCCURRED = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


@pytest.fixture
def firm_id():
    return str(uuid.uuid4())


@pytest.fixture
def staff(firm_id):
    """The context data of a signed-in staff member of `firm_id`, as the gateway sends it."""
    return {"firm_id": firm_id, "user_id": str(uuid.uuid4()), "user_kind": "staff", "request_id": "req-1"}


@pytest.fixture
def container(container_factory, config):
    container = container_factory(NotificationsService, config)
    container.start()
    return container


def emitted(envelope, source, event_type, data, context=None, **fields):
    """The envelope of an event emitted in a call with this context: its actor is the caller, as
    UnitOfWork.emit makes it by default; `fields`: firm_id, account_id."""
    actor = {"id": context["user_id"], "kind": context["user_kind"]} if context and context.get("user_id") else None
    return envelope(source, event_type, data, actor=actor, occurred_at=OCCURRED, **fields)


@pytest.fixture
def publish(nameko_config, envelope):
    """`publish(source, type, data, context=..., firm_id=..., account_id=...)`: one event as the outbox relay
    sends it; returns its body."""
    publisher = Publisher(nameko_config["AMQP_URI"])

    def send(source, event_type, data, *, context=None, body=None, **fields):
        body = body or emitted(envelope, source, event_type, data, context, **fields)
        exchange = get_event_exchange(source, nameko_config)
        publisher.publish(body, exchange=exchange, routing_key=event_type, declare=[exchange],
                          headers={f"nameko.{k}": v for k, v in (context or {}).items()})
        return body

    return send


def handled(body, ok_only=True):
    """An entrypoint_waiter callback: this event's worker finished (without an error, if `ok_only`)."""
    return lambda worker_ctx, result, exc_info: (worker_ctx.args[0]["id"] == body["id"]
                                                 and not (ok_only and exc_info))


@pytest.fixture
def deliver(container, publish, envelope):
    """`deliver(source, type, data, ...)`: publish, and return once the feed's consumer handled the event."""

    def send(source, event_type, data, **kwargs):
        fields = {k: kwargs.pop(k) for k in ("firm_id", "account_id") if k in kwargs}
        body = kwargs.pop("body", None) or emitted(envelope, source, event_type, data, kwargs.get("context"), **fields)
        with entrypoint_waiter(container, f"record_{source}_activity", callback=handled(body), timeout=15):
            publish(source, event_type, data, body=body, **kwargs)
        return body

    return send


@pytest.fixture
def rows(engine):
    """`rows()`: every activity row, oldest recorded first."""

    def read():
        with Session(engine) as session:
            return list(session.scalars(select(Activity).order_by(Activity.created_at, Activity.id)))

    return read


def list_activity(config, context, **query):
    with ServiceRpcProxy("notifications", config, timeout=10, context_data=context) as notifications:
        return notifications.list_activity(query)


# -- recording --------------------------------------------------------------------------------------


def test_a_crm_event_becomes_one_entry_with_its_firm_account_actor_and_summary(deliver, rows, staff):
    account = {"id": str(uuid.uuid4()), "name": "Smith Family", "type": "family", "guest": False}
    body = deliver("crm", "account_created", {"account": account}, context=staff, firm_id=staff["firm_id"],
                   account_id=account["id"])
    [row] = rows()
    assert (str(row.id), row.source, row.event_type) == (body["id"], "crm", "account_created")
    assert (str(row.firm_id), str(row.account_id), str(row.actor_user_id)) == (
        staff["firm_id"], account["id"], staff["user_id"])
    assert row.summary == "Account “Smith Family” created"
    assert row.data == {"account": account} and row.occurred_at == OCCURRED


def test_the_same_event_delivered_twice_makes_one_entry(deliver, rows, staff):
    body = deliver("crm", "account_created", {"account": {"id": str(uuid.uuid4()), "name": "Twice"}}, context=staff,
                   firm_id=staff["firm_id"])
    deliver("crm", "account_created", body["data"], body=body, context=staff)
    assert [str(r.id) for r in rows()] == [body["id"]]


def test_an_event_type_nobody_described_is_recorded_with_a_summary_from_its_name(deliver, rows, firm_id):
    deliver("crm", "invoice_reminder_scheduled", {"days": 3}, firm_id=firm_id)
    [row] = rows()
    assert (str(row.firm_id), row.event_type, row.summary) == (firm_id, "invoice_reminder_scheduled",
                                                               "Invoice reminder scheduled")


def test_an_event_that_names_no_firm_is_skipped(deliver, rows):
    deliver("crm", "account_created", {"account": {"id": str(uuid.uuid4()), "name": "Nobody's"}})
    assert rows() == []


def test_links_events_are_recorded_too(deliver, rows, firm_id):
    link = {"id": str(uuid.uuid4()), "firm_id": firm_id, "kind": "invitation",
            "target": {"type": "user", "id": str(uuid.uuid4())}, "single_use": True}
    deliver("links", "link_redeemed", {"link": link}, firm_id=firm_id)
    [row] = rows()
    assert (row.source, str(row.firm_id), row.summary) == ("links", firm_id, "Invitation link used")


def test_an_event_whose_handler_fails_is_requeued_and_recorded_later(container, publish, envelope, rows, staff,
                                                                     monkeypatch):
    monkeypatch.setattr(entrypoints, "REQUEUE_PAUSE", 0.01)
    record, failures = activity.record, []

    def flaky(*args, **kwargs):
        if not failures:
            failures.append(1)
            raise ConnectionError("database went away")
        record(*args, **kwargs)

    monkeypatch.setattr(activity, "record", flaky)
    body = emitted(envelope, "crm", "account_created", {"account": {"id": str(uuid.uuid4()), "name": "Retry"}},
                   staff, firm_id=staff["firm_id"])
    with entrypoint_waiter(container, "record_crm_activity", callback=handled(body), timeout=15):
        publish("crm", "account_created", body["data"], body=body, context=staff)
    assert failures == [1]
    assert [str(r.id) for r in rows()] == [body["id"]]


def test_a_message_that_is_not_an_event_is_dropped_without_stopping_the_feed(container, publish, deliver, rows,
                                                                             firm_id):
    with entrypoint_waiter(container, "record_crm_activity", timeout=15):
        publish("crm", "account_created", None, body=["not", "an", "event"])
    deliver("crm", "something_happened", {}, firm_id=firm_id)
    assert [r.event_type for r in rows()] == ["something_happened"]


# -- list_activity -----------------------------------------------------------------------------------


class FakeCrm:
    """crm's answer about the caller: which accounts he may see (`list_visible_account_ids`).
    Tests set `rights` and `accounts`."""

    name = "crm"
    rights: list[str] = ["manage_accounts", "view_all_accounts"]
    accounts: list[str] = []

    @rpc
    def list_visible_account_ids(self):
        if "view_all_accounts" in FakeCrm.rights:
            return {"all": True, "ids": []}
        return {"all": False, "ids": list(FakeCrm.accounts)}


@pytest.fixture
def crm(container_factory, nameko_config, monkeypatch):
    """A stand-in for crm that answers for an owner (every account visible) unless a test says otherwise."""
    monkeypatch.setattr(FakeCrm, "rights", ["manage_accounts", "view_all_accounts"])
    monkeypatch.setattr(FakeCrm, "accounts", [])
    container_factory(FakeCrm, nameko_config).start()
    return FakeCrm


@pytest.fixture
def employee(crm, monkeypatch):
    """crm says the caller is an employee without view_all_accounts; returns `sees(*account_ids)`."""
    monkeypatch.setattr(FakeCrm, "rights", ["manage_accounts"])
    return lambda *ids: monkeypatch.setattr(FakeCrm, "accounts", list(ids))


def add(engine, firm_id, account_id=None, summary="Something happened"):
    """One entry, recorded now (after every earlier one)."""
    entry = Entry(uuid.uuid4(), "crm", "something_happened", uuid.UUID(firm_id),
                  account_id and uuid.UUID(account_id), None, summary, {"n": summary}, OCCURRED)
    with Session(engine) as session:
        activity.record(session, entry)
        session.commit()
    return str(entry.id)


def test_list_activity_is_the_callers_firms_newest_first(crm, container, config, engine, staff, firm_id):
    ours = [add(engine, firm_id, summary=f"Ours {i}") for i in range(3)]
    add(engine, str(uuid.uuid4()), summary="Theirs")
    page = list_activity(config, staff)
    assert [item["id"] for item in page["items"]] == list(reversed(ours))
    assert page["next_cursor"] is None


def test_another_firms_entries_never_appear_even_for_its_account(crm, container, config, engine, staff):
    their_account = str(uuid.uuid4())
    add(engine, str(uuid.uuid4()), account_id=their_account)
    assert list_activity(config, staff)["items"] == []
    assert list_activity(config, staff, account_id=their_account)["items"] == []


def test_account_id_narrows_the_feed_to_that_account(crm, container, config, engine, staff, firm_id):
    account = str(uuid.uuid4())
    mine = add(engine, firm_id, account_id=account)
    add(engine, firm_id, account_id=str(uuid.uuid4()))
    add(engine, firm_id)
    assert [item["id"] for item in list_activity(config, staff, account_id=account)["items"]] == [mine]


def test_pages_follow_the_cursor_through_every_entry_once(crm, container, config, engine, staff, firm_id):
    ids = [add(engine, firm_id) for _ in range(5)]
    first = list_activity(config, staff, limit=2)
    second = list_activity(config, staff, limit=2, cursor=first["next_cursor"])
    third = list_activity(config, staff, limit=2, cursor=second["next_cursor"])
    assert third["next_cursor"] is None
    assert [i["id"] for page in (first, second, third) for i in page["items"]] == list(reversed(ids))


def test_an_item_has_the_documented_fields(crm, deliver, config, staff):
    account = {"id": str(uuid.uuid4()), "name": "Smith Family"}
    body = deliver("crm", "account_created", {"account": account}, context=staff, firm_id=staff["firm_id"],
                   account_id=account["id"])
    [item] = list_activity(config, staff)["items"]
    assert item == {"id": body["id"], "event_type": "account_created", "account_id": account["id"],
                    "actor_id": staff["user_id"], "summary": "Account “Smith Family” created",
                    "data": {"account": account}, "occurred_at": "2026-11-23T10:00:00Z"}


@pytest.mark.parametrize("query", [{"limit": 0}, {"limit": 201}, {"limit": "many"}, {"cursor": "garbage"},
                                   {"account_id": "not-a-uuid"}, {"since": "yesterday"}])
def test_bad_query_parameters_are_a_validation_error(crm, container, config, staff, query):
    with pytest.raises(ValidationFailed):
        list_activity(config, staff, **query)


def test_list_activity_needs_a_caller(container, config):
    with pytest.raises(Unauthorized):
        list_activity(config, {})


def test_list_activity_is_for_staff_not_clients(container, config, staff):
    with pytest.raises(Forbidden):
        list_activity(config, {**staff, "user_kind": "client"})


def test_an_employee_who_may_not_see_every_account_gets_only_his_accounts_entries(container, config, engine, staff,
                                                                                   firm_id, employee):
    mine, also_mine, hidden = (str(uuid.uuid4()) for _ in range(3))
    employee(mine, also_mine)
    expected = [add(engine, firm_id, account_id=mine), add(engine, firm_id, account_id=also_mine)]
    add(engine, firm_id, account_id=hidden)
    add(engine, firm_id)  # firm-wide: might name a contact of a hidden account
    assert [i["id"] for i in list_activity(config, staff)["items"]] == list(reversed(expected))


def test_an_account_the_employee_may_not_see_has_no_entries_for_him(container, config, engine, staff, firm_id,
                                                                     employee):
    hidden = str(uuid.uuid4())
    employee()
    add(engine, firm_id, account_id=hidden)
    assert list_activity(config, staff, account_id=hidden) == {"items": [], "next_cursor": None}
