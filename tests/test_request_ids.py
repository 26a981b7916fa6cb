"""A request id given to the gateway follows the request into every service's JSON logs."""
from __future__ import annotations

import json
import time
import uuid

import pytest


def log_records(path) -> list[dict]:
    records = []
    for line in path.read_text(errors="replace").splitlines():
        try:
            records.append(json.loads(line))
        except ValueError:
            continue
    return records


def test_request_id_reaches_the_crm_log(porta_system, firm):
    request_id = f"trace-{uuid.uuid4().hex[:12]}"
    resp = firm["api"].post("/api/v1/accounts", json={"name": "Traced", "type": "company"},
                            headers={"X-Request-ID": request_id})
    assert resp.status_code == 201 and resp.headers["X-Request-ID"] == request_id
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        mine = [r for r in log_records(porta_system.log_dir / "crm.log") if r.get("request_id") == request_id]
        if {r.get("entrypoint") for r in mine} >= {"authenticate", "create_account"}:
            break
        time.sleep(0.2)
    assert {r.get("entrypoint") for r in mine} >= {"authenticate", "create_account"}
    assert all(r["service"] == "crm" for r in mine)


@pytest.fixture
def crm_events(porta_env):
    """`next_event(predicate)`: crm's account_created events as published, from a queue of this test bound
    before anything is sent (the body and the `nameko.*` headers the outbox relay sends with it)."""
    from kombu import Connection, Queue
    from nameko.standalone.events import get_event_exchange

    exchange = get_event_exchange("crm", {})
    with Connection(porta_env["PORTA_AMQP_URI"]) as connection:
        queue = Queue(f"test-request-ids-{uuid.uuid4().hex[:8]}", exchange, routing_key="account_created",
                      auto_delete=False)(connection.channel())
        queue.declare()

        def next_event(predicate, timeout: float = 30.0):
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                message = queue.get(accept=["json"])
                if message is None:
                    time.sleep(0.1)
                    continue
                message.ack()
                if predicate(message.payload):
                    return message
            raise AssertionError(f"no matching crm event within {timeout}s")

        try:
            yield next_event
        finally:
            queue.delete()


def records(path, request_id: str, entrypoint: str, timeout: float = 30.0) -> list[dict]:
    """The JSON log lines of `path` carrying `request_id` from `entrypoint`, waiting for the first."""
    deadline = time.monotonic() + timeout
    while True:
        found = [r for r in log_records(path)
                 if r.get("request_id") == request_id and r.get("entrypoint") == entrypoint]
        if found or time.monotonic() > deadline:
            assert found, f"no {entrypoint} line with request id {request_id} in {path} after {timeout}s"
            return found
        time.sleep(0.2)


def test_one_request_id_goes_through_an_rpc_the_outbox_and_an_event_to_a_consumers_log(
        porta_system, firm, crm_events, service_engine):
    from sqlalchemy import text

    request_id = f"trace-{uuid.uuid4().hex[:12]}"
    resp = firm["api"].post("/api/v1/accounts", json={"name": "Followed", "type": "company"},
                            headers={"X-Request-ID": request_id})
    assert resp.status_code == 201 and resp.headers["X-Request-ID"] == request_id
    account_id = resp.json()["id"]

    # The RPC: crm served the gateway's call under that id.
    [served] = records(porta_system.log_dir / "crm.log", request_id, "create_account")
    assert (served["service"], served["outcome"]) == ("crm", "ok")

    # The outbox: the event committed with the account carries it, in the envelope and in its headers.
    with service_engine("crm").connect() as connection:
        [row] = connection.execute(text(
            "SELECT id, payload, headers FROM outbox WHERE event_type = 'account_created' "
            "AND payload -> 'data' -> 'account' ->> 'id' = :account"), {"account": account_id}).all()
    assert row.payload["request_id"] == request_id and row.headers["nameko.request_id"] == request_id

    # The event: as the relay published it.
    message = crm_events(lambda body: body["id"] == str(row.id))
    assert message.payload["request_id"] == request_id
    assert message.headers["nameko.request_id"] == request_id

    # The consumer: notifications logged its handling of that event under the same id.
    [handled] = records(porta_system.log_dir / "notifications.log", request_id, "record_crm_activity")
    assert (handled["service"], handled["outcome"]) == ("notifications", "ok")
