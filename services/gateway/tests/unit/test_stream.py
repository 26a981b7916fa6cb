"""The stream process's rules without a broker: what each event becomes for staff and clients
(gateway.stream.audience), and who receives it (gateway.stream.hub), with crm played by a fake."""
from __future__ import annotations

import asyncio
import uuid
from typing import Any

import falcon.testing
import pytest

from gateway.stream import audience
from gateway.stream.app import create_stream_app
from gateway.stream.hub import END, Gate, Hub, Subscriber
from shared.errors import Unauthorized

FIRM, ACCOUNT, OTHER = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
THREAD = {"id": str(uuid.uuid4()), "account_id": ACCOUNT, "subject": "W-2", "archived": False,
          "job_ids": [str(uuid.uuid4())], "last_message_at": None, "created_at": "2026-11-23T10:00:00Z"}
MESSAGE = {"id": str(uuid.uuid4()), "thread_id": THREAD["id"], "author": {"kind": "staff", "id": str(uuid.uuid4()),
           "name": "Olive"}, "body": "Hi", "body_html": "<p>Hi</p>", "mentions": [], "document_ids": [],
           "created_at": "2026-11-23T10:00:00Z", "read_at": None}


def envelope(source: str, name: str, data: dict, account_id: str | None = ACCOUNT) -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "type": name, "source": source, "firm_id": FIRM, "account_id": account_id,
            "occurred_at": "2026-11-23T10:00:00Z", "actor": None, "request_id": None, "data": data}


def posted(account_id: str = ACCOUNT) -> dict[str, Any]:
    return envelope("chats", "message_posted", {"thread": {**THREAD, "account_id": account_id}, "message": MESSAGE,
                                                "client_email": {"recipients": ["jane@example.com"]}}, account_id)


# -- audience -----------------------------------------------------------------------------------------


def test_a_client_sees_a_message_without_whom_the_firm_emails_or_the_threads_jobs():
    delivery = audience.translate(posted())
    assert delivery.event == "message" and delivery.account_id == ACCOUNT
    assert "client_email" not in delivery.client and "job_ids" not in delivery.client["thread"]
    assert delivery.staff["thread"]["job_ids"] == THREAD["job_ids"]


def test_a_change_of_reminder_settings_is_for_staff_only():
    delivery = audience.translate(envelope("chats", "thread_updated", {
        "thread": THREAD, "changed": ["reminders"], "reminders": {"enabled": True}}))
    assert delivery.client is None and delivery.staff["changed"] == ["reminders"]


def test_an_archived_thread_is_told_to_both_sides_without_reminders_to_the_client():
    delivery = audience.translate(envelope("chats", "thread_updated", {
        "thread": THREAD, "changed": ["archived"], "reminders": {"enabled": False}}))
    assert delivery.client == {"thread": audience._client_thread(THREAD), "changed": ["archived"]}


def test_an_inbox_item_is_for_its_owner_only():
    user = str(uuid.uuid4())
    delivery = audience.translate(envelope("notifications", "inbox_item_changed", {"user_id": user,
                                                                                   "item": {"id": "x"}}))
    assert (delivery.event, delivery.user_id, delivery.client) == ("inbox", user, None)


def test_events_streams_do_not_carry_translate_to_nothing():
    assert audience.translate(envelope("chats", "bulk_batch_queued", {"job_id": "x", "batch": 0})) is None
    assert audience.translate(envelope("crm", "account_created", {})) is None


def test_crms_access_events_are_bound_and_recognised():
    assert audience.is_access_change(envelope("crm", "portal_access_revoked", {}))
    assert "portal_access_revoked" in audience.BINDINGS["crm"]
    assert not audience.is_access_change(envelope("crm", "account_created", {}))


# -- hub ----------------------------------------------------------------------------------------------


class FakeCrm:
    """crm as the hub asks it: sessions by token, accounts seen by user; counts the calls."""

    def __init__(self) -> None:
        self.sessions: dict[str, dict[str, Any]] = {}
        self.sees: dict[str, set[str]] = {}
        self.calls: list[str] = []

    def login(self, kind: str = "staff") -> tuple[str, dict[str, Any]]:
        token, user = uuid.uuid4().hex, str(uuid.uuid4())
        self.sessions[token] = {"user_id": user, "firm_id": FIRM, "kind": kind, "session_id": str(uuid.uuid4())}
        self.sees[user] = {ACCOUNT}
        return token, self.sessions[token]

    async def __call__(self, service: str, method: str, context: dict, **kwargs: Any) -> Any:
        self.calls.append(method)
        if method == "authenticate":
            if kwargs["token"] not in self.sessions:
                raise Unauthorized("gone")
            return self.sessions[kwargs["token"]]
        seen = self.sees[context["user_id"]]
        if method == "list_portal_accounts":
            return {"items": [{"id": a} for a in seen]}
        return {"all": False, "ids": sorted(seen)}


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


def drained(subscriber: Subscriber) -> list[Any]:
    items = []
    while not subscriber.queue.empty():
        items.append(subscriber.queue.get_nowait())
    return items


@pytest.fixture
def world():
    crm, clock = FakeCrm(), Clock()
    return crm, clock, Hub(Gate(crm, clock), clock)


def test_an_event_reaches_every_stream_of_a_session_that_sees_its_account(world):
    crm, clock, hub = world
    token, principal = crm.login()
    tabs = [Subscriber(principal, token), Subscriber(principal, token)]
    for tab in tabs:
        hub.subscribe(tab)
    asyncio.run(hub.dispatch(posted(), clock()))
    assert [[d.event for d in drained(tab)] for tab in tabs] == [["message"], ["message"]]
    assert crm.calls == ["authenticate", "list_visible_account_ids"]  # once per session, not per tab


def test_an_account_the_user_does_not_see_sends_nothing(world):
    crm, clock, hub = world
    token, principal = crm.login("client")
    subscriber = Subscriber(principal, token)
    hub.subscribe(subscriber)
    asyncio.run(hub.dispatch(posted(OTHER), clock()))
    assert drained(subscriber) == []


def test_a_check_begun_before_an_event_arrived_is_asked_again(world):
    crm, clock, hub = world
    token, principal = crm.login("client")
    subscriber = Subscriber(principal, token)
    hub.subscribe(subscriber)

    async def two_events() -> None:
        await hub.dispatch(posted(), clock())
        crm.sees[principal["user_id"]] = set()  # LOGIN turned off after the first event
        await hub.dispatch(posted(), clock())

    asyncio.run(two_events())
    assert [d.event for d in drained(subscriber)] == ["message"]
    assert crm.calls.count("list_portal_accounts") == 2


def test_one_check_serves_every_event_that_arrived_before_it(world):
    crm, clock, hub = world
    token, principal = crm.login()
    subscriber = Subscriber(principal, token)
    hub.subscribe(subscriber)
    arrived = clock()  # a burst: both events arrived before any check began

    async def burst() -> None:
        await hub.dispatch(posted(), arrived)
        await hub.dispatch(posted(), arrived)

    asyncio.run(burst())
    assert len(drained(subscriber)) == 2 and crm.calls == ["authenticate", "list_visible_account_ids"]


def test_a_session_crm_no_longer_knows_ends_its_streams(world):
    crm, clock, hub = world
    token, principal = crm.login()
    subscriber = Subscriber(principal, token)
    hub.subscribe(subscriber)
    del crm.sessions[token]  # logged out
    asyncio.run(hub.dispatch(posted(), clock()))
    assert drained(subscriber) == [END] and subscriber.ended == "signed_out"


def test_an_access_event_of_crm_rechecks_the_firms_sessions_at_once(world):
    crm, clock, hub = world
    token, principal = crm.login()
    subscriber = Subscriber(principal, token)
    hub.subscribe(subscriber)
    del crm.sessions[token]  # the member was removed
    asyncio.run(hub.dispatch(envelope("crm", "team_member_removed", {"member": {}}, None), clock()))
    assert subscriber.ended == "signed_out"


def test_a_filter_keeps_only_the_events_and_accounts_asked_for(world):
    crm, clock, hub = world
    token, principal = crm.login()
    crm.sees[principal["user_id"]] = {ACCOUNT, OTHER}
    subscriber = Subscriber(principal, token, events=frozenset({"message"}), account_ids=frozenset({OTHER}))
    hub.subscribe(subscriber)

    async def events() -> None:
        await hub.dispatch(posted(ACCOUNT), clock())
        await hub.dispatch(posted(OTHER), clock())

    asyncio.run(events())
    assert [d.account_id for d in drained(subscriber)] == [OTHER]


def test_a_subscriber_too_far_behind_is_ended():
    subscriber = Subscriber({"kind": "staff", "firm_id": FIRM, "user_id": "u"}, "t")
    delivery = audience.translate(posted())
    for _ in range(1001):
        subscriber.push(delivery)
    assert subscriber.ended == "too_slow"


# -- the app ------------------------------------------------------------------------------------------


def test_a_request_without_accept_event_stream_is_406_after_authentication(world):
    crm, _, hub = world
    token, _ = crm.login()
    client = falcon.testing.TestClient(create_stream_app(hub, crm))
    resp = client.simulate_get("/api/v1/stream", headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 406 and resp.headers["cache-control"] == "no-store"


def test_a_client_token_on_the_staff_stream_is_403(world):
    crm, _, hub = world
    token, _ = crm.login("client")
    client = falcon.testing.TestClient(create_stream_app(hub, crm))
    resp = client.simulate_get("/api/v1/stream", headers={"Authorization": f"Bearer {token}",
                                                          "Accept": "text/event-stream"})
    assert resp.status_code == 403


def test_an_unknown_token_is_401_with_www_authenticate(world):
    crm, _, hub = world
    client = falcon.testing.TestClient(create_stream_app(hub, crm))
    resp = client.simulate_get("/portal/v1/stream", headers={"Authorization": "Bearer nope",
                                                             "Accept": "text/event-stream"})
    assert resp.status_code == 401 and resp.headers["www-authenticate"] == "Bearer"


def test_the_stream_process_is_not_healthy_until_its_consumer_is_bound(world):
    _, _, hub = world
    assert falcon.testing.TestClient(create_stream_app(hub, None, ready=lambda: False)).simulate_get(
        "/healthz").status_code == 503
