"""The rules of consumer queues and dead letters that need no broker (the broker's side:
shared/tests/test_dead_letters.py)."""
from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace

import pytest
from kombu import Exchange

from shared import entrypoints, queues
from shared.dead_letters import DeadLetter, selection


def test_failed_events_wait_longer_each_time_up_to_a_cap():
    pauses = [entrypoints.requeue_pause(n) for n in range(queues.DELIVERY_LIMIT + 1)]
    assert pauses[:5] == [1.0, 2.0, 4.0, 8.0, 16.0]
    assert max(pauses) == entrypoints.MAX_REQUEUE_PAUSE == pauses[-1]
    assert entrypoints.requeue_pause(10_000) == entrypoints.MAX_REQUEUE_PAUSE
    # Long enough to ride out a database restart before an event is given up on.
    assert sum(pauses[:-1]) >= 120


def test_a_consumer_queue_is_a_quorum_queue_with_a_limit_and_the_dead_letter_exchange():
    queue = queues.consumer_queue("porta.x.on_y.crm.account_created", Exchange("crm.events", "topic"),
                                  "account_created")
    assert queue.durable and not queue.auto_delete
    assert queue.queue_arguments == {
        "x-queue-type": "quorum", "x-delivery-limit": queues.DELIVERY_LIMIT,
        "x-dead-letter-exchange": queues.DEAD_LETTER_EXCHANGE,
        "x-dead-letter-routing-key": "porta.x.on_y.crm.account_created",
        "x-dead-letter-strategy": "at-least-once", "x-overflow": "reject-publish",
    }
    assert queues.dead_letter_queue().queue_arguments == {"x-queue-type": "quorum"}


def test_new_queue_names_never_collide_with_nameko_s_classic_ones():
    args = ("notifications", "on_team_member_invited", "crm", "team_member_invited")
    assert queues.handler_queue_name(*args) == "porta.notifications.on_team_member_invited.crm.team_member_invited"
    assert queues.legacy_handler_queue_name(*args) == (
        "evt-crm-team_member_invited--notifications.on_team_member_invited")


def message(headers, body=b'{"id": "e-1", "type": "account_created", "source": "crm"}', message_id="e-1"):
    return SimpleNamespace(body=body, properties={"application_headers": headers, "message_id": message_id})


def test_a_dead_letter_says_where_it_came_from_and_where_it_goes_back():
    when = datetime(2026, 11, 23, 10, 0)
    letter = DeadLetter.of(message({"x-death": [
        {"count": 2, "reason": "delivery_limit", "queue": "porta.q", "time": when, "exchange": "crm.events",
         "routing-keys": ["account_created"]},
        {"count": 1, "reason": "rejected", "queue": "porta.older", "exchange": "x", "routing-keys": ["y"]},
    ]}))
    assert (letter.queue, letter.reason, letter.exchange, letter.routing_key, letter.deaths) == (
        "porta.q", "delivery_limit", "crm.events", "account_created", 2)
    assert (letter.message_id, letter.event_id, letter.event_type, letter.source) == (
        "e-1", "e-1", "account_created", "crm")
    assert letter.died_at == when.isoformat()


def test_a_dead_letter_that_is_not_json_is_still_listed():
    letter = DeadLetter.of(message({"x-first-death-queue": "porta.q", "x-first-death-reason": "rejected",
                                    "x-first-death-exchange": "crm.events"}, body=b"\xff junk", message_id=None))
    assert (letter.queue, letter.reason, letter.exchange, letter.event_id) == ("porta.q", "rejected", "crm.events",
                                                                               None)


def test_replay_takes_only_what_it_is_told():
    letter = DeadLetter("porta.q", "delivery_limit", "crm.events", "k", None, 1, "m-1", "e-1", "k", "crm")
    assert selection(every=True)(letter)
    assert selection(queue_names=["porta.q"])(letter) and not selection(queue_names=["porta.other"])(letter)
    assert selection(ids=["m-1"])(letter) and selection(ids=["e-1"])(letter) and not selection(ids=["x"])(letter)
    with pytest.raises(ValueError):
        selection()


@pytest.mark.parametrize("version", ["3.10.8", "3.13.7", b"4.1.0", "4.0.0-beta.1"])
def test_a_broker_with_quorum_queue_dead_letters_is_accepted(version):
    queues.require_version({"version": version})


@pytest.mark.parametrize("version", ["3.9.29", "3.8.0", b"3.7.28"])
def test_an_older_broker_is_refused_with_the_version_it_needs(version):
    with pytest.raises(RuntimeError, match="3.10 or later"):
        queues.require_version({"version": version})
