"""One event path: outbox rows commit with the change, the relay publishes them with confirms,
and a write or an event delivered twice is applied once."""
from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
from kombu import Connection, Queue
from marshmallow import Schema, fields
from nameko.amqp.publish import Publisher
from nameko.standalone.events import get_event_exchange
from nameko.standalone.rpc import ServiceRpcProxy
from nameko.testing.services import entrypoint_waiter
from sqlalchemy import Column, Integer, String, Table, event, func, insert, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase

from shared.dependencies import Database
from shared.entrypoints import event_handler, read, write
from shared.events import EventLog, InvalidEvent, declare, envelope
from shared.outbox import OutboxRelay, messaging_tables
from shared.rpc import rpc
from shared.service import PortaService


class Base(DeclarativeBase):
    pass


messaging = messaging_tables(Base.metadata)
things = Table("things", Base.metadata, Column("id", Integer, primary_key=True, autoincrement=True),
               Column("name", String(50)))


@pytest.fixture
def engine(scratch_engine):
    return scratch_engine("sharedtests", Base.metadata)


@pytest.fixture
def scratch_db_url(engine):
    return engine.url.render_as_string(hide_password=False)


@pytest.fixture
def config(service_config, scratch_db_url):
    # Both test services use the one scratch database.
    return service_config("emitter", db_urls={"emitter": scratch_db_url, "listener": scratch_db_url})


OUTBOX, HANDLED = messaging
FIRM = uuid.UUID("00000000-0000-4000-8000-000000000001")
ACCOUNT = uuid.UUID("00000000-0000-4000-8000-000000000002")


class ThingMadeSchema(Schema):
    name = fields.String(required=True)


THING_MADE = declare("emitter", "thing_made", ThingMadeSchema, "A thing was made (tests)")


class EmitterService(PortaService):
    name = "emitter"
    db = Database(messaging, relay_interval=0.2)

    @rpc
    @write
    def make(self, name: str) -> dict:
        self.db.session.execute(insert(things).values(name=name))
        self.db.emit(THING_MADE, {"name": name}, firm_id=FIRM, account_id=ACCOUNT)
        return {"name": name, "nonce": uuid.uuid4().hex}

    @rpc
    @write
    def make_many(self, names: list[str]) -> None:
        log = EventLog()
        for name in names:
            log.add(THING_MADE, {"name": name}, firm_id=FIRM)
        self.db.emit_all(log)

    @rpc
    @write
    def make_then_fail(self, name: str) -> None:
        self.db.session.execute(insert(things).values(name=name))
        self.db.emit(THING_MADE, {"name": name}, firm_id=FIRM)
        raise ValueError("no")

    @rpc
    @write
    def make_with_a_bad_event(self, name: str) -> None:
        self.db.session.execute(insert(things).values(name=name))
        self.db.emit(THING_MADE, {"name": name, "colour": "red"}, firm_id=FIRM)

    @rpc
    @write
    def fail_with_cleanup(self, name: str) -> None:
        self.db.session.execute(insert(things).values(name=name))
        self.db.on_failure(lambda session: session.execute(insert(things).values(name=f"cleaned {name}")))
        raise ValueError("no")

    @rpc
    @read
    def look_then_fail(self, name: str) -> int:
        """Reads (no transaction), then fails, leaving a write to its compensation."""
        seen = self.db.session.scalar(select(func.count()).select_from(things))
        self.db.on_failure(lambda session: session.execute(insert(things).values(name=f"{name} after {seen}")))
        raise ValueError("no")

    @rpc
    @read
    def look_on_its_connection_then_fail(self, name: str) -> int:
        """Reads on the call's Core connection, then fails; its compensation notes the connections in use."""
        self.db.connection.execute(select(func.count()).select_from(things)).scalar()

        def note_connections(session: Any) -> None:
            in_use = session.connection().engine.pool.checkedout()  # the compensation's own included
            session.execute(insert(things).values(name=f"{name} with {in_use} connection(s) out"))

        self.db.on_failure(note_connections)
        raise ValueError("no")


class ListenerService(PortaService):
    name = "listener"
    db = Database(messaging)

    @event_handler(THING_MADE)
    def on_thing_made(self, event: dict) -> None:
        self.db.session.execute(insert(things).values(name=f"heard {event['data']['name']}"))


@pytest.fixture
def thing_made_queue(config):
    """A queue bound to emitter's events before anything is published, as deploy declares them."""
    with Connection(config["AMQP_URI"]) as conn:
        queue = Queue(f"test-thing-made-{uuid.uuid4().hex[:8]}", get_event_exchange("emitter", {}),
                      routing_key="thing_made", auto_delete=False)
        queue(conn.channel()).declare()
        yield queue
        queue(conn.channel()).delete()


def drain(config, queue, expected, timeout=10.0):
    """The messages on `queue`: `expected` of them (waiting up to `timeout`), then every other one the
    queue holds, known by a marker sent through it last: "no more than that" without a fixed wait."""
    import time

    messages = []
    with Connection(config["AMQP_URI"]) as conn:
        bound = queue(conn.channel())
        deadline = time.monotonic() + timeout
        while len(messages) < expected and time.monotonic() < deadline:
            message = bound.get(accept=["json"])
            if message is None:
                time.sleep(0.05)
                continue
            message.ack()
            messages.append(message)
        marker = {"marker": uuid.uuid4().hex}
        conn.Producer().publish(marker, exchange="", routing_key=queue.name, serializer="json")
        deadline = time.monotonic() + 30
        while True:
            message = bound.get(accept=["json"])
            if message is None:
                assert time.monotonic() < deadline, "the marker sent through the queue never came back"
                time.sleep(0.05)
                continue
            message.ack()
            if message.payload == marker:
                return messages
            messages.append(message)


def outbox_row(name: str, event_type: str = "thing_made") -> dict:
    """An outbox row as emit writes it: the envelope is the payload."""
    event_id = uuid.uuid4()
    body = envelope(THING_MADE, {"name": name}, firm_id=FIRM, event_id=event_id)
    return {"id": event_id, "event_type": event_type, "payload": body, "headers": {}}


def count(engine, table, *where):
    with engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(table).where(*where))


def test_committed_event_is_published_with_its_outbox_id(container_factory, config, engine, thing_made_queue):
    container_factory(EmitterService, config).start()
    with ServiceRpcProxy("emitter", config, timeout=10) as emitter:
        emitter.make("a")
    [message] = drain(config, thing_made_queue, 1)
    # The relay marks the row after the broker's confirm, so a consumer can see the message first.
    row = published_row(engine)
    assert message.payload["id"] == str(row.id) == message.properties["message_id"]
    assert message.payload["type"] == "thing_made" and message.payload["data"] == {"name": "a"}
    assert row.published_at is not None


def test_a_bulk_changes_events_go_into_the_outbox_in_one_statement(container_factory, config, engine):
    names = [f"thing {n}" for n in range(200)]
    outbox_inserts = []

    def seen(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith(f"INSERT INTO {OUTBOX.name.upper()}"):
            outbox_inserts.append(statement)

    container_factory(EmitterService, config).start()
    event.listen(Engine, "before_cursor_execute", seen)
    try:
        with ServiceRpcProxy("emitter", config, timeout=10) as emitter:
            emitter.make_many(names)
    finally:
        event.remove(Engine, "before_cursor_execute", seen)
    assert len(outbox_inserts) == 1
    with engine.connect() as conn:
        stored = sorted(row.payload["data"]["name"] for row in conn.execute(select(OUTBOX.c.payload)))
    assert stored == sorted(names)


def published_row(engine, timeout: float = 10.0):
    """The one outbox row, once the relay has recorded that the broker confirmed it."""
    deadline = time.monotonic() + timeout
    while True:
        with engine.connect() as conn:
            row = conn.execute(select(OUTBOX)).one()
        if row.published_at is not None or time.monotonic() > deadline:
            return row
        time.sleep(0.05)


def test_an_event_travels_in_the_envelope_with_firm_account_actor_and_request_id(
        container_factory, config, thing_made_queue):
    container_factory(EmitterService, config).start()
    user = str(uuid.uuid4())
    caller = {"request_id": "req-42", "firm_id": str(FIRM), "user_id": user, "user_kind": "staff"}
    with ServiceRpcProxy("emitter", config, timeout=10, context_data=caller) as emitter:
        emitter.make("enveloped")
    [message] = drain(config, thing_made_queue, 1)
    body = message.payload
    assert set(body) == {"id", "type", "source", "firm_id", "account_id", "occurred_at", "actor", "request_id",
                         "data"}
    assert body["source"] == "emitter" and body["firm_id"] == str(FIRM) and body["account_id"] == str(ACCOUNT)
    assert body["actor"] == {"id": user, "kind": "staff"} and body["request_id"] == "req-42"


def test_a_calls_access_version_stays_out_of_its_events(container_factory, config, thing_made_queue):
    """A handler may run after a removal: it asks crm rather than trust the version of the request that
    caused the event (shared.access caches under a version only what a request established)."""
    container_factory(EmitterService, config).start()
    caller = {"request_id": "req-43", "firm_id": str(FIRM), "user_id": str(uuid.uuid4()),
              "session_id": str(uuid.uuid4()), "access_version": 7}
    with ServiceRpcProxy("emitter", config, timeout=10, context_data=caller) as emitter:
        emitter.make("versioned")
    [message] = drain(config, thing_made_queue, 1)
    assert message.headers["nameko.session_id"] == caller["session_id"]
    assert "nameko.access_version" not in message.headers


def test_an_event_that_does_not_match_its_schema_fails_the_write(container_factory, config, engine):
    container_factory(EmitterService, config).start()
    with ServiceRpcProxy("emitter", config, timeout=10) as emitter, pytest.raises(Exception, match="InvalidEvent"):
        emitter.make_with_a_bad_event("g")
    assert count(engine, things) == 0 and count(engine, OUTBOX) == 0


def test_a_failed_write_commits_only_its_compensation(container_factory, config, engine):
    container_factory(EmitterService, config).start()
    with ServiceRpcProxy("emitter", config, timeout=10) as emitter, pytest.raises(Exception, match="ValueError"):
        emitter.fail_with_cleanup("h")
    with engine.connect() as conn:
        assert conn.scalars(select(things.c.name)).all() == ["cleaned h"]


def test_a_failed_read_commits_its_compensation_in_a_write_transaction_of_its_own(container_factory, config, engine):
    container_factory(EmitterService, config).start()
    with ServiceRpcProxy("emitter", config, timeout=10) as emitter, pytest.raises(Exception, match="ValueError"):
        emitter.look_then_fail("i")
    with engine.connect() as conn:
        assert conn.scalars(select(things.c.name)).all() == ["i after 0"]


def test_a_failed_read_gives_its_connection_back_before_its_compensation_takes_one(container_factory, config,
                                                                                   engine):
    # Two at once per failing call (a wrong link token) outgrew the pool under load: a new backend per miss.
    container = container_factory(EmitterService, config)
    container.start()
    [database] = [d for d in container.dependencies if isinstance(d, Database)]
    database.relay_interval = 60  # each relay pass checks a connection out too: parked after its next one
    time.sleep(4 * EmitterService.db.relay_interval)
    with ServiceRpcProxy("emitter", config, timeout=10) as emitter, pytest.raises(Exception, match="ValueError"):
        emitter.look_on_its_connection_then_fail("j")
    with engine.connect() as conn:
        assert conn.scalars(select(things.c.name)).all() == ["j with 1 connection(s) out"]


def test_a_declared_event_checks_its_payload_without_a_broker():
    THING_MADE.check({"name": "ok"})
    with pytest.raises(InvalidEvent, match="emitter.thing_made"):
        THING_MADE.check({"name": 3})


def test_a_failed_write_commits_neither_change_nor_event(container_factory, config, engine, thing_made_queue):
    container_factory(EmitterService, config).start()
    with ServiceRpcProxy("emitter", config, timeout=10) as emitter, pytest.raises(Exception, match="ValueError"):
        emitter.make_then_fail("b")
    assert count(engine, things) == 0 and count(engine, OUTBOX) == 0
    assert drain(config, thing_made_queue, 1, timeout=1) == []


def test_the_same_call_delivered_twice_is_applied_once(container_factory, config, engine, thing_made_queue):
    container_factory(EmitterService, config).start()
    # What the broker does after a crash between commit and reply: the same message, again.
    with ServiceRpcProxy("emitter", config, timeout=10, context_data={"call_key": "call-1"}) as emitter:
        first = emitter.make("c")
        second = emitter.make("c")
    assert first == second
    assert count(engine, things) == 1 and count(engine, OUTBOX) == 1
    assert len(drain(config, thing_made_queue, 2, timeout=2)) == 1


def test_different_calls_are_different_writes(container_factory, config, engine):
    container_factory(EmitterService, config).start()
    with ServiceRpcProxy("emitter", config, timeout=10, context_data={"call_key": "k1"}) as emitter:
        emitter.make("d")
    with ServiceRpcProxy("emitter", config, timeout=10, context_data={"call_key": "k2"}) as emitter:
        emitter.make("d")
    assert count(engine, things) == 2


def test_a_redelivered_event_is_handled_once(container_factory, config, engine):
    listener = container_factory(ListenerService, config)
    listener.start()
    publisher = Publisher(config["AMQP_URI"], use_confirms=True)
    event = {"id": str(uuid.uuid4()), "type": "thing_made", "occurred_at": "2026-11-23T10:00:00Z",
             "data": {"name": "e"}}
    for _ in range(2):
        with entrypoint_waiter(listener, "on_thing_made", timeout=10):
            publisher.publish(event, exchange=get_event_exchange("emitter", {}), routing_key="thing_made")
    assert count(engine, things, things.c.name == "heard e") == 1
    assert count(engine, HANDLED) == 1


def test_events_wait_in_the_outbox_while_the_broker_is_unreachable(config, engine, thing_made_queue):
    with engine.begin() as conn:
        conn.execute(insert(OUTBOX).values(**outbox_row("f")))
    exchange = get_event_exchange("emitter", {})
    unreachable = Publisher("pyamqp://guest:guest@127.0.0.1:1/", use_confirms=True, mandatory=True, retry=False)
    assert OutboxRelay(engine, OUTBOX, unreachable, exchange).publish_pending() == 0
    with engine.connect() as conn:
        row = conn.execute(select(OUTBOX)).one()
    assert row.published_at is None and row.attempts == 1 and row.last_error
    with engine.begin() as conn:
        conn.execute(OUTBOX.update().values(next_attempt_at=None))
    reachable = Publisher(config["AMQP_URI"], use_confirms=True, mandatory=True)
    assert OutboxRelay(engine, OUTBOX, reachable, exchange).publish_pending() == 1
    assert len(drain(config, thing_made_queue, 1)) == 1


def test_an_event_nobody_listens_to_yet_stays_in_the_outbox(config, engine):
    with engine.begin() as conn:
        conn.execute(insert(OUTBOX).values(**outbox_row("x", event_type="nobody_listens")))
    exchange = get_event_exchange("emitter", {})
    with Connection(config["AMQP_URI"]) as conn:
        exchange(conn.channel()).declare()
    relay = OutboxRelay(engine, OUTBOX, Publisher(config["AMQP_URI"], use_confirms=True, mandatory=True), exchange)
    assert relay.publish_pending() == 0
    with engine.connect() as conn:
        assert "Undeliverable" in conn.execute(select(OUTBOX.c.last_error)).scalar_one()


def test_two_relays_never_publish_the_same_row(config, engine, thing_made_queue):
    with engine.begin() as conn:
        conn.execute(insert(OUTBOX), [outbox_row(str(i)) for i in range(40)])
    exchange = get_event_exchange("emitter", {})
    relays = [OutboxRelay(engine, OUTBOX, Publisher(config["AMQP_URI"], use_confirms=True, mandatory=True),
                          exchange) for _ in range(2)]
    import eventlet

    pool = eventlet.GreenPool()
    total = sum(pool.imap(lambda r: r.publish_pending(limit=10) + r.publish_pending(limit=10)
                          + r.publish_pending(limit=10), relays))
    ids = [m.payload["id"] for m in drain(config, thing_made_queue, 40)]
    assert total == 40 and len(ids) == 40 == len(set(ids))
