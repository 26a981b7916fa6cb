"""Events that can never be handled: dead-lettered after the delivery limit, listed, replayed, applied once.

Over the run's RabbitMQ and PostgreSQL: a service whose two consumers (an `event_handler` and an
`every_event`) fail on every delivery, the broker's quorum queues with their delivery limit, and
`python -m shared.dead_letters`.
"""
from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from collections import Counter

import pytest
from amqp.exceptions import NotFound
from kombu import Connection, Queue
from marshmallow import Schema, fields
from nameko.amqp.publish import Publisher
from nameko.standalone.events import get_event_exchange
from nameko.testing.services import entrypoint_waiter
from sqlalchemy import Column, String, Table, insert, select
from sqlalchemy.orm import DeclarativeBase

from shared import dead_letters, entrypoints, queues
from shared.dependencies import Database
from shared.entrypoints import event_handler, every_event
from shared.events import declare, envelope
from shared.outbox import messaging_tables
from shared.service import PortaService


class Base(DeclarativeBase):
    pass


messaging = messaging_tables(Base.metadata)
applied = Table("applied", Base.metadata, Column("event_id", String(50), nullable=False),
                Column("consumer", String(20), nullable=False))


class HappenedSchema(Schema):
    what = fields.String(required=True)


HAPPENED = declare("sender", "thing_happened", HappenedSchema, "Something happened (dead-letter tests)")
FIRM = uuid.UUID("00000000-0000-4000-8000-0000000000d1")
HANDLER_QUEUE = queues.handler_queue_name("fragile", "on_happened", "sender", "thing_happened")
EVERY_QUEUE = "porta.fragile.everything"

# What the consumers do: fail while `broken`; each attempt counted per (event id, consumer).
state = {"broken": True, "attempts": Counter()}


def attempt(service, event, consumer):
    state["attempts"][event["id"], consumer] += 1
    if state["broken"]:
        raise RuntimeError("this handler cannot handle this event, ever")
    service.db.session.execute(insert(applied).values(event_id=event["id"], consumer=consumer))


class FragileService(PortaService):
    name = "fragile"
    db = Database(messaging)

    @event_handler(HAPPENED)
    def on_happened(self, event):
        attempt(self, event, "handler")

    @every_event("sender", "fragile.everything")
    def on_everything(self, event):
        attempt(self, event, "every")


@pytest.fixture
def engine(scratch_engine):
    return scratch_engine("deadletters", Base.metadata)


@pytest.fixture
def scratch_db_url(engine):
    return engine.url.render_as_string(hide_password=False)


@pytest.fixture
def config(service_config, scratch_db_url):
    return service_config("fragile", db_urls={"fragile": scratch_db_url})


@pytest.fixture(autouse=True)
def clean(amqp_uri, monkeypatch):
    """Fast retries, broken consumers, and no queue of an earlier test (the run's vhost is shared)."""
    monkeypatch.setattr(entrypoints, "REQUEUE_PAUSE", 0.001)
    state["broken"], state["attempts"] = True, Counter()
    with Connection(amqp_uri) as conn:
        for name in (HANDLER_QUEUE, EVERY_QUEUE, queues.DEAD_LETTER_QUEUE, legacy_handler_queue(),
                     "fragile.everything"):
            channel = conn.channel()
            try:
                channel.queue_delete(name)
            except NotFound:
                pass
    yield


def legacy_handler_queue():
    return queues.legacy_handler_queue_name("fragile", "on_happened", "sender", "thing_happened")


def publish(amqp_uri, body):
    """As the outbox relay does: confirmed, routed, with the event id as message id."""
    exchange = get_event_exchange("sender", {})
    Publisher(amqp_uri, use_confirms=True, mandatory=True).publish(
        body, exchange=exchange, routing_key="thing_happened", message_id=body.get("id") if isinstance(body, dict)
        else None, declare=[exchange], headers={"nameko.request_id": "req-dead"})


def an_event():
    return envelope(HAPPENED, {"what": "x"}, firm_id=FIRM)


def wait_until(predicate, timeout=30.0, what="the condition"):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached after {timeout}s")
        time.sleep(0.05)


def waiting_in(amqp_uri, name):
    with Connection(amqp_uri) as conn:
        return conn.channel().queue_declare(name, passive=True).message_count


def rows(engine):
    with engine.connect() as conn:
        return Counter(conn.execute(select(applied.c.event_id, applied.c.consumer)).all())


def test_an_event_that_always_fails_is_dead_lettered_after_the_limit_not_forever(
        container_factory, config, amqp_uri, engine):
    container_factory(FragileService, config).start()
    event = an_event()
    publish(amqp_uri, event)

    wait_until(lambda: dead_letters.count(amqp_uri) == 2, what="both consumers' dead letters")
    tries = queues.DELIVERY_LIMIT + 1
    assert state["attempts"] == {(event["id"], "handler"): tries, (event["id"], "every"): tries}
    time.sleep(1.0)  # nothing goes round any more
    assert state["attempts"] == {(event["id"], "handler"): tries, (event["id"], "every"): tries}
    assert waiting_in(amqp_uri, HANDLER_QUEUE) == waiting_in(amqp_uri, EVERY_QUEUE) == 0

    letters = dead_letters.browse(amqp_uri)
    assert {letter.queue for letter in letters} == {HANDLER_QUEUE, EVERY_QUEUE}
    for letter in letters:
        assert (letter.reason, letter.exchange, letter.routing_key) == ("delivery_limit", "sender.events",
                                                                        "thing_happened")
        assert letter.message_id == letter.event_id == event["id"]
        assert (letter.source, letter.event_type, letter.deaths) == ("sender", "thing_happened", 1)
    assert dead_letters.count(amqp_uri) == 2, "listing removed dead letters"
    assert rows(engine) == {}


def test_a_replayed_dead_letter_is_applied_once_by_the_fixed_handler_and_redelivery_changes_nothing(
        container_factory, config, amqp_uri, engine):
    container = container_factory(FragileService, config)
    container.start()
    event = an_event()
    publish(amqp_uri, event)
    wait_until(lambda: dead_letters.count(amqp_uri) == 2, what="both consumers' dead letters")

    state["broken"] = False  # the fix
    # Both dead letters go back to sender.events: each consumer gets the event twice, applies it once.
    replayed = dead_letters.replay(amqp_uri, dead_letters.selection(every=True))
    assert [r.error for r in replayed] == [None, None]
    expected = {(event["id"], "handler"): 1, (event["id"], "every"): 1}
    wait_until(lambda: rows(engine) == expected, what="the replayed event applied by both consumers")
    wait_until(lambda: waiting_in(amqp_uri, HANDLER_QUEUE) == waiting_in(amqp_uri, EVERY_QUEUE) == 0,
               what="queues drained")
    assert dead_letters.count(amqp_uri) == 0

    def this_event(worker_ctx, result, exc_info):
        return worker_ctx.args[0]["id"] == event["id"] and exc_info is None

    # The same event delivered once more: both consumers run, neither applies it again.
    with entrypoint_waiter(container, "on_happened", callback=this_event, timeout=15), \
            entrypoint_waiter(container, "on_everything", callback=this_event, timeout=15):
        publish(amqp_uri, event)
    assert rows(engine) == expected
    assert dead_letters.count(amqp_uri) == 0


def test_a_message_that_is_not_an_event_is_dead_lettered_without_a_retry(container_factory, config, amqp_uri):
    container_factory(FragileService, config).start()
    publish(amqp_uri, ["not", "an", "event"])
    wait_until(lambda: dead_letters.count(amqp_uri) == 2, what="the junk dead-lettered")
    assert sum(state["attempts"].values()) == 0
    assert {(d.queue, d.reason) for d in dead_letters.browse(amqp_uri)} == {(HANDLER_QUEUE, "rejected"),
                                                                            (EVERY_QUEUE, "rejected")}


def run_command(*args):
    done = subprocess.run([sys.executable, "-m", "shared.dead_letters", *args], capture_output=True, text=True,
                          timeout=60)
    return done.returncode, done.stdout + done.stderr


def test_the_ops_command_lists_and_replays_chosen_dead_letters(container_factory, config, amqp_uri, engine):
    container_factory(FragileService, config).start()
    first, second = an_event(), an_event()
    publish(amqp_uri, first)
    publish(amqp_uri, second)
    wait_until(lambda: dead_letters.count(amqp_uri) == 4, what="four dead letters")

    code, out = run_command("list", "--json")
    assert code == 0, out
    listed = [json.loads(line) for line in out.splitlines()]
    assert sorted((d["queue"], d["event_id"]) for d in listed) == sorted(
        (q, e["id"]) for q in (HANDLER_QUEUE, EVERY_QUEUE) for e in (first, second))
    code, out = run_command("list")
    assert code == 0 and first["id"] in out and HANDLER_QUEUE in out and "delivery_limit" in out, out
    assert run_command("count") == (0, "4\n")
    assert run_command("replay")[0] == 2  # says which, or does nothing

    state["broken"] = False
    code, out = run_command("replay", "--id", first["id"], "--queue", "no-such-queue")
    assert code == 0 and "2 replayed, 0 kept" in out, out
    wait_until(lambda: rows(engine) == {(first["id"], "handler"): 1, (first["id"], "every"): 1},
               what="the first event applied")
    assert sorted(d.event_id for d in dead_letters.browse(amqp_uri)) == [second["id"]] * 2


def test_queues_of_the_classic_kind_from_before_are_adopted_with_what_waits_in_them(
        container_factory, config, amqp_uri, engine):
    """`make run`'s broker from before quorum queues: nameko's classic queues, holding events."""
    exchange = get_event_exchange("sender", {})
    legacy = [Queue(legacy_handler_queue(), exchange, routing_key="thing_happened", durable=True),
              Queue("fragile.everything", exchange, routing_key="#", durable=True)]
    with Connection(amqp_uri) as conn:
        for queue in legacy:
            queue(conn.channel()).declare()
    waiting = [an_event(), an_event()]
    for event in waiting:
        publish(amqp_uri, event)
    assert [waiting_in(amqp_uri, q.name) for q in legacy] == [2, 2]
    state["broken"] = False

    container_factory(FragileService, config).start()
    expected = {(e["id"], consumer): 1 for e in waiting for consumer in ("handler", "every")}
    wait_until(lambda: rows(engine) == expected, what="the waiting events applied")
    for queue in legacy:
        with Connection(amqp_uri) as conn, pytest.raises(NotFound):
            conn.channel().queue_declare(queue.name, passive=True)
    later = an_event()
    publish(amqp_uri, later)
    wait_until(lambda: rows(engine)[later["id"], "every"] == rows(engine)[later["id"], "handler"] == 1,
               what="a later event applied by both")
