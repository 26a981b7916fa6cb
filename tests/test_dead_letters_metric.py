"""The gateway's metrics count the events waiting in the dead-letter queue (`porta_dead_letters`).

A real dead letter: a message in a consumer queue declared as every Porta consumer's is (shared.queues),
handed out and requeued by a failing consumer until the broker's delivery limit moves it away.
"""
from __future__ import annotations

import re
import time
import uuid

import requests
from kombu import Connection, Exchange, Producer

from shared import queues


def scraped_dead_letters(porta_system) -> str | None:
    env = porta_system.env
    text = requests.get(f"http://{env['PORTA_HTTP_HOST']}:{env['PORTA_METRICS_PORT']}/metrics", timeout=10).text
    found = re.search(r"^porta_dead_letters (\S+)$", text, re.MULTILINE)
    return found and found.group(1)


def wait_for_metric(porta_system, value: float, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while (seen := scraped_dead_letters(porta_system)) is None or float(seen) != value:
        if time.monotonic() > deadline:
            raise AssertionError(f"porta_dead_letters is {seen}, not {value}, after {timeout}s")
        time.sleep(0.5)


def test_a_dead_letter_is_counted_in_the_metrics_until_it_is_taken_away(porta_system, amqp_uri):
    wait_for_metric(porta_system, 0)
    name = f"porta.test.failing-{uuid.uuid4().hex[:8]}"
    exchange = Exchange(f"test-{uuid.uuid4().hex[:8]}.events", type="topic", durable=False, auto_delete=True)
    with Connection(amqp_uri) as conn:
        channel = conn.channel()
        queues.dead_letter_exchange()(channel).declare()
        queues.dead_letter_queue()(channel).declare()
        queue = queues.consumer_queue(name, exchange, "thing_happened")(channel)
        queue.declare()
        Producer(channel).publish({"id": str(uuid.uuid4())}, exchange=exchange, routing_key="thing_happened",
                                  delivery_mode=2)
        # A consumer that fails on every delivery: the broker hands the message out DELIVERY_LIMIT + 1 times.
        for _ in range(queues.DELIVERY_LIMIT + 1):
            message = None
            deadline = time.monotonic() + 10
            while message is None and time.monotonic() < deadline:
                message = queue.get(no_ack=False)
            assert message is not None
            message.requeue()
        wait_for_metric(porta_system, 1)

        dead = conn.channel()
        letter = dead.basic_get(queues.DEAD_LETTER_QUEUE, no_ack=False)
        assert letter.headers["x-death"][0]["queue"] == name
        dead.basic_ack(letter.delivery_tag)
        queue.delete()
    wait_for_metric(porta_system, 0)
