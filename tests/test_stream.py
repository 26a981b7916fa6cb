"""Server-Sent Events (`GET/POST /api/v1/stream`, `GET /portal/v1/stream`) over the running system.

Streams are reached at the gateway's own address: the gateway's workers hand them to the stream process
(gateway.stream). Each test reads its streams in a thread of its own and asserts on what arrives; "not
delivered" is shown by a later event that is delivered (events reach a stream in the order they happened).
"""
from __future__ import annotations

import contextlib
import json
import os
import queue
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from shared.contracts.documents import FILE_REQUEST_FILES_RECEIVED
from tests.samples import employee


@dataclass
class Event:
    event: str
    data: Any
    id: str | None


class EventReader:
    """One open stream, read by a thread into a queue of Events."""

    def __init__(self, base_url: str, path: str, token: str | None, body: dict | None = None) -> None:
        headers = {"Accept": "text/event-stream"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self.response = requests.request("POST" if body is not None else "GET", base_url + path, headers=headers,
                                         json=body, stream=True, timeout=(5, 120))
        self.events: queue.Queue[Event | None] = queue.Queue()
        self.seen: list[Event] = []
        self.response.encoding = "utf-8"  # what an event stream always is (the SSE standard)
        if self.response.status_code == 200:
            threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        fields: dict[str, str] = {}
        try:
            for line in self.response.iter_lines(decode_unicode=True):
                if line:
                    name, _, value = line.partition(":")
                    if name:  # a line starting with ":" is a comment (keep-alive)
                        fields[name] = fields.get(name, "") + value.removeprefix(" ")
                    continue
                if "event" in fields or "data" in fields:
                    data = json.loads(fields["data"]) if fields.get("data") else None
                    self.events.put(Event(fields.get("event", "message"), data, fields.get("id")))
                fields = {}
        except (requests.RequestException, AttributeError, ValueError):
            pass
        self.events.put(None)  # the stream ended

    def next(self, timeout: float = 20.0) -> Event | None:
        event = self.events.get(timeout=timeout)
        if event is not None:
            self.seen.append(event)
        return event

    def wait_for(self, match: Callable[[Event], bool], timeout: float = 20.0) -> Event:
        deadline = time.monotonic() + timeout
        while True:
            try:
                event = self.next(max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no matching event within {timeout}s; saw {self.seen}") from None
            if event is None:
                raise AssertionError(f"the stream ended; saw {self.seen}")
            if match(event):
                return event

    def close(self) -> None:
        # The reader thread waits in a read that holds the response's buffer lock until the next heartbeat
        # (15 s): shutting the socket down ends that read at once, so closing waits for nothing.
        with contextlib.suppress(OSError, ValueError, AttributeError):  # already closed, by either side
            with socket.socket(fileno=os.dup(self.response.raw.fileno())) as connection:
                connection.shutdown(socket.SHUT_RDWR)
        self.response.close()


@pytest.fixture
def streams(base_url):
    opened: list[EventReader] = []

    def open_stream(path: str, token: str | None, body: dict | None = None) -> EventReader:
        reader = EventReader(base_url, path, token, body)
        opened.append(reader)
        return reader

    yield open_stream
    for reader in opened:
        reader.close()


def token_of(api) -> str:
    return api.session.headers["Authorization"].split()[1]


def message_with(body: str) -> Callable[[Event], bool]:
    return lambda e: e.event == "message" and e.data["message"]["body"] == body


def start_thread(staff, account_id: str, body: str = "Hello", **fields: Any) -> dict:
    resp = staff.post(f"/api/v1/accounts/{account_id}/chats", json={"subject": "Documents for 2026", "body": body,
                                                                     **fields})
    assert resp.status_code == 201, resp.text
    return resp.json()


def post(staff, thread_id: str, body: str) -> None:
    resp = staff.post(f"/api/v1/chats/{thread_id}/messages", json={"body": body})
    assert resp.status_code == 201, resp.text


def second_account(client_portal) -> dict:
    """Another account of the firm on which Jane (already active) gets portal access at once."""
    staff = client_portal["staff"]
    account = staff.post("/api/v1/accounts", json={"name": "Smith Holdings", "type": "company"}).json()
    staff.post(f"/api/v1/accounts/{account['id']}/contacts", json={"contact_id": client_portal["contact"]["id"]})
    resp = staff.patch(f"/api/v1/accounts/{account['id']}/access/{client_portal['address']}", json={"login": True})
    assert resp.status_code == 200 and resp.json()["status"] == "active", resp.text
    return account


# -- opening -------------------------------------------------------------------------------------------


def test_a_staff_stream_opens_at_the_gateways_address_with_a_ready_event(firm, streams):
    reader = streams("/api/v1/stream", token_of(firm["api"]))
    assert reader.response.status_code == 200
    assert reader.response.headers["Content-Type"].startswith("text/event-stream")
    assert reader.response.headers["Cache-Control"] == "no-store"
    ready = reader.next()
    assert (ready.event, ready.data) == ("ready", {"user_id": firm["user"]["id"], "kind": "staff"})


def test_a_stream_without_a_token_is_401_with_www_authenticate(anonymous):
    resp = anonymous.get("/api/v1/stream", headers={"Accept": "text/event-stream"})
    assert resp.status_code == 401 and resp.headers["WWW-Authenticate"] == "Bearer"
    assert resp.json()["title"] == "Unauthorized"


def test_a_request_that_does_not_accept_an_event_stream_is_406(firm):
    resp = firm["api"].get("/api/v1/stream")
    assert resp.status_code == 406 and "text/event-stream" in resp.json()["description"]


def test_a_connection_handed_to_the_stream_process_carries_no_later_request(firm):
    api = firm["api"]  # one keep-alive session: its next request must reach the gateway again
    assert api.get("/api/v1/stream").headers["Connection"] == "close"
    assert api.get("/api/v1/me").status_code == 200


def test_each_kind_of_token_opens_only_its_own_stream(client_portal):
    for api, path in ((client_portal["client"], "/api/v1/stream"), (client_portal["staff"], "/portal/v1/stream")):
        resp = api.get(path, headers={"Accept": "text/event-stream"})
        assert resp.status_code == 403, resp.text


def test_a_filter_naming_an_unknown_event_is_422(firm):
    resp = firm["api"].post("/api/v1/stream", json={"events": ["gossip"]}, headers={"Accept": "text/event-stream"})
    assert resp.status_code == 422 and "events" in resp.json()["errors"]


# -- what arrives, and for whom ----------------------------------------------------------------------


def test_a_client_sees_a_staff_message_arrive_without_the_firms_own_details(client_portal, streams):
    reader = streams("/portal/v1/stream", token_of(client_portal["client"]))
    assert reader.next().event == "ready"
    thread = start_thread(client_portal["staff"], client_portal["account"]["id"], body="Please send your **W-2**")
    event = reader.wait_for(message_with("Please send your **W-2**"))
    assert event.data["thread"]["id"] == thread["id"]
    assert "<strong>W-2</strong>" in event.data["message"]["body_html"]
    assert "client_email" not in event.data and "job_ids" not in event.data["thread"]


def test_staff_see_a_client_reply_and_a_ticked_task(client_portal, streams):
    staff, client, account = client_portal["staff"], client_portal["client"], client_portal["account"]
    reader = streams("/api/v1/stream", token_of(staff))
    thread = start_thread(staff, account["id"], tasks=[{"title": "Upload your W-2"}])
    reader.wait_for(lambda e: e.event == "thread" and e.data["thread"]["id"] == thread["id"])
    base = f"/portal/v1/accounts/{account['id']}/chats/{thread['id']}"
    assert client.post(f"{base}/messages", json={"body": "Here it is"}).status_code == 201
    reply = reader.wait_for(message_with("Here it is"))
    assert reply.data["message"]["author"]["kind"] == "client"
    task_id = thread["tasks"][0]["id"]
    assert client.patch(f"{base}/tasks/{task_id}", json={"done": True}).status_code == 200
    ticked = reader.wait_for(lambda e: e.event == "task" and e.data["task"]["id"] == task_id)
    assert (ticked.data["change"], ticked.data["task"]["done"], ticked.data["progress"]) == (
        "completed", True, {"done": 1, "total": 1})


def test_a_filtered_stream_carries_only_the_events_and_accounts_it_asked_for(client_portal, streams):
    staff = client_portal["staff"]
    other = second_account(client_portal)
    reader = streams("/api/v1/stream", token_of(staff), body={"events": ["message"],
                                                              "account_ids": [other["id"]]})
    assert reader.next().event == "ready"
    start_thread(staff, client_portal["account"]["id"], body="not for this stream")
    start_thread(staff, other["id"], body="for this stream")
    reader.wait_for(message_with("for this stream"))
    assert [e.event for e in reader.seen] == ["ready", "message"]


def test_an_employee_hears_nothing_of_an_account_he_may_not_see(client_portal, mailbox, anonymous, api_for, streams):
    staff = client_portal["staff"]
    other = second_account(client_portal)
    emma = employee({"api": staff, "email": client_portal["address"]}, mailbox, anonymous, api_for, other)
    reader = streams("/api/v1/stream", token_of(emma))
    assert reader.next().event == "ready"
    start_thread(staff, client_portal["account"]["id"], body="hidden from Emma")
    start_thread(staff, other["id"], body="Emma's account")
    reader.wait_for(message_with("Emma's account"))
    assert not any(e.event == "message" and e.data["message"]["body"] == "hidden from Emma" for e in reader.seen)


def test_an_inbox_item_reaches_its_owner_only(firm, mailbox, anonymous, api_for, documents_event, streams):
    account = firm["api"].post("/api/v1/accounts", json={"name": "Inbox Family", "type": "family"}).json()
    emma = employee(firm, mailbox, anonymous, api_for, account)
    owner_stream = streams("/api/v1/stream", token_of(firm["api"]))
    emma_stream = streams("/api/v1/stream", token_of(emma))
    request = {"id": str(uuid.uuid4()), "firm_id": firm["firm"]["id"], "account_id": account["id"],
               "folder_id": str(uuid.uuid4()), "message": "W-2", "status": "open", "link_id": str(uuid.uuid4()),
               "created_by": firm["user"]["id"], "created_at": "2026-11-23T09:00:00Z",
               "updated_at": "2026-11-23T09:00:00Z"}
    documents_event(FILE_REQUEST_FILES_RECEIVED, {
        "file_request": request, "uploader": {"name": "Jane Doe", "email": "jane@bank.example"},
        "documents": [{"id": str(uuid.uuid4()), "name": "w2.pdf", "size": 10, "content_type": "application/pdf"}],
        "received_count": 1}, firm_id=firm["firm"]["id"], account_id=account["id"])
    mine = owner_stream.wait_for(lambda e: e.event == "inbox" and e.data["subject_id"] == request["id"])
    emmas = emma_stream.wait_for(lambda e: e.event == "inbox" and e.data["subject_id"] == request["id"])
    assert mine.data["id"] != emmas.data["id"]  # each his own item, never the other's
    assert mine.data["title"] == "1 file received for “W-2”" and mine.data["unread"] is True


# -- access removed: delivery stops at once -----------------------------------------------------------


def test_turning_login_off_stops_delivery_of_that_accounts_events_at_once(client_portal, streams):
    staff, account = client_portal["staff"], client_portal["account"]
    other = second_account(client_portal)
    thread = start_thread(staff, account["id"], body="before")
    reader = streams("/portal/v1/stream", token_of(client_portal["client"]))
    post(staff, thread["id"], "still yours")
    reader.wait_for(message_with("still yours"))
    off = staff.patch(f"/api/v1/accounts/{account['id']}/access/{client_portal['address']}", json={"login": False})
    assert off.status_code == 200, off.text
    post(staff, thread["id"], "no longer yours")
    start_thread(staff, other["id"], body="on the account he keeps")
    reader.wait_for(message_with("on the account he keeps"))
    assert not any(e.event == "message" and e.data["message"]["body"] == "no longer yours" for e in reader.seen)


def test_a_logout_ends_the_stream_before_the_next_event(client_portal, base_url, streams):
    staff, account = client_portal["staff"], client_portal["account"]
    login = requests.post(base_url + "/api/v1/auth/login", timeout=30, json={
        "email": client_portal["address"], "password": "jane's long password"})
    assert login.status_code == 200, login.text
    token = login.json()["token"]
    reader = streams("/portal/v1/stream", token)
    thread = start_thread(staff, account["id"], body="while signed in")
    reader.wait_for(message_with("while signed in"))
    out = requests.post(base_url + "/api/v1/auth/logout", headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert out.status_code in (200, 204), out.text
    post(staff, thread["id"], "after the logout")
    ended = reader.wait_for(lambda e: e.event in ("end", "message"))
    assert (ended.event, ended.data) == ("end", {"reason": "signed_out"})
    assert reader.next() is None  # the server closed the stream


def test_losing_view_all_accounts_stops_delivery_at_once(client_portal, mailbox, anonymous, api_for, streams):
    staff, account = client_portal["staff"], client_portal["account"]
    other = second_account(client_portal)
    emma = employee({"api": staff, "email": client_portal["address"]}, mailbox, anonymous, api_for, other,
                    rights=["view_all_accounts"])
    emma_id = emma.get("/api/v1/me").json()["id"]
    reader = streams("/api/v1/stream", token_of(emma))
    thread = start_thread(staff, account["id"], body="seen with view_all_accounts")
    reader.wait_for(message_with("seen with view_all_accounts"))
    changed = staff.patch(f"/api/v1/team/{emma_id}", json={"rights": []})
    assert changed.status_code == 200, changed.text
    post(staff, thread["id"], "not seen without it")
    start_thread(staff, other["id"], body="her own account")
    reader.wait_for(message_with("her own account"))
    assert not any(e.event == "message" and e.data["message"]["body"] == "not seen without it" for e in reader.seen)


# -- streams hold no gateway thread -------------------------------------------------------------------


def test_more_open_streams_than_gateway_threads_leave_the_gateway_answering(firm, streams, anonymous):
    # The gateway runs 2 gthread workers of 16 threads (gunicorn.conf.py): 40 streams would hold them all.
    # Were they held, these requests would wait for a free thread until their timeout and fail.
    readers = [streams("/api/v1/stream", token_of(firm["api"])) for _ in range(40)]
    assert all(reader.next().event == "ready" for reader in readers)
    for _ in range(20):
        assert anonymous.get("/healthz").status_code == 200
        assert firm["api"].get("/api/v1/me").status_code == 200
