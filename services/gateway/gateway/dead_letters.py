"""`porta_dead_letters` in the gateway's metrics: how many events wait in the dead-letter queue.

An event lands there when a consumer failed on it more often than the delivery limit allows
(shared.queues); it waits until an operator replays it (`python -m shared.dead_letters`). Anything
above 0 deserves an alert. gunicorn's master asks the broker every `INTERVAL` seconds from a thread
(`watch`, started where the metrics port is served) and keeps the answer in a gauge that the metrics
port serves with the workers' metrics; NaN while the broker cannot be asked.
"""
from __future__ import annotations

import logging
import math
import threading

from prometheus_client import Gauge

from shared.dead_letters import count

log = logging.getLogger(__name__)

INTERVAL = 5.0

DEAD_LETTERS = Gauge(
    "porta_dead_letters",
    "Events no consumer could handle within the delivery limit, waiting in the dead-letter queue "
    "(python -m shared.dead_letters list); NaN while the broker cannot be asked",
    multiprocess_mode="mostrecent",
)


def refresh(amqp_uri: str) -> float:
    """Ask the broker once; returns what the gauge now says."""
    try:
        value = float(count(amqp_uri))
    except Exception as error:  # broker down, refused, slow: the gauge says "unknown", not 0
        log.warning("cannot count dead letters: %s", error)
        value = math.nan
    DEAD_LETTERS.set(value)
    return value


def watch(amqp_uri: str, interval: float = INTERVAL) -> threading.Event:
    """Refresh the gauge now and every `interval` seconds from a daemon thread; set the returned
    event to stop it."""
    stop = threading.Event()

    def loop() -> None:
        while True:
            refresh(amqp_uri)
            if stop.wait(interval):
                return

    threading.Thread(target=loop, name="dead-letters-metric", daemon=True).start()
    return stop
