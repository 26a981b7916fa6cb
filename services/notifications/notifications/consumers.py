"""`@every_event(source, queue)`: one consumer for every event a service emits, each applied once.

nameko's `@event_handler` binds one queue per event type. The activity feed wants all of a
service's events, including types added later, so it uses nameko's `@consume` (`Consumer`) on a
durable queue bound to the service's `<source>.events` topic exchange with routing key `#`. The
exchange is nameko's own (`get_event_exchange` with the container's config), declared exactly as
the relay and nameko's handlers declare it. The queue outlives the service: events emitted while
no instance runs wait in it.

The handler runs like `shared.entrypoints.event_handler`'s: its effect and a `handled_messages`
row keyed on the event id commit together (a redelivered event is applied once), and a failing
handler's event is requeued, never acked. Meant to move to shared.entrypoints as is.

The handler receives the body (`{id, type, occurred_at, actor_id?, data}`); nameko also makes the
message's `nameko.*` headers the worker's context data, so `self.context` holds the request id and
the principal of the call that emitted the event.
"""
from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

import eventlet
from kombu import Queue
from nameko.messaging import Consumer
from nameko.standalone.events import get_event_exchange

log = logging.getLogger(__name__)

# How long a failed handler waits before its event goes back to the queue: nameko requeues at
# once, and without a pause a database outage turns into a busy loop of redeliveries.
REQUEUE_PAUSE = 1.0


class EveryEvent(Consumer):
    """nameko's `@consume`, on a durable queue bound to all of `source_service`'s events."""

    def __init__(self, source_service: str, queue_name: str, **kwargs: Any) -> None:
        self.source_service = source_service
        self.queue_name = queue_name
        kwargs.setdefault("requeue_on_error", True)
        # The queue needs the container's config (as the exchange does), so it is made in setup().
        super().__init__(queue=None, **kwargs)

    def setup(self) -> None:
        exchange = get_event_exchange(self.source_service, self.container.config)
        self.queue = Queue(self.queue_name, exchange=exchange, routing_key="#", durable=True, auto_delete=False)
        super().setup()


def _well_formed(event: Any) -> bool:
    return isinstance(event, dict) and bool(event.get("id")) and bool(event.get("type"))


def every_event(source_service: str, queue_name: str, **kwargs: Any) -> Callable[..., Any]:
    """Decorate `handler(self, event)`: called once per event id for every event of `source_service`.

    Expects the service's dependencies `db` (shared.dependencies.Database) and `context`.
    A message that is not an event body (no id or type) can never be applied: it is logged and
    dropped rather than requeued forever.
    """

    def decorate(method: Callable[..., Any]) -> Callable[..., Any]:
        consumer = f"events:{source_service}.#:{method.__name__}"

        @functools.wraps(method)
        def run(self: Any, event: Any) -> Any:
            if not _well_formed(event):
                log.error("%s: dropped a message from %s.events that is not an event", consumer, source_service)
                return None
            uow = self.db
            try:
                if not uow.mark_handled(consumer, str(event["id"])):
                    uow.rollback()
                    return None
                result = method(self, event)
                uow.commit()
            except Exception:
                uow.rollback()
                eventlet.sleep(REQUEUE_PAUSE)
                raise
            except BaseException:  # the worker is being killed: no pause
                uow.rollback()
                raise
            return result

        return EveryEvent.decorator(source_service, queue_name, **kwargs)(run)

    return decorate
