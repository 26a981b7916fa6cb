"""How an entrypoint commits: writes applied once, however often the broker delivers them.

nameko's AMQP entrypoints are at-least-once: a service killed after its commit but before
its reply (or ack) gets the same message again, in another instance. These decorators
commit the change together with a `handled_messages` row keyed on the call (or event),
so the second delivery returns the first result instead of writing again.

All expect the service to name its dependencies `db` (shared.dependencies.Database)
and `context` (shared.dependencies.CallContext). `idempotent` commits changes that are
harmless to repeat (first-use defaults, clearing NEW, sweeps) without a once-per-call record.
`event_handler` takes one declared event (shared.events); `every_event` every event of a
service (the activity feed). An entrypoint module never commits by itself: these do.
"""
from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

import eventlet
from kombu import Queue
from nameko.events import event_handler as nameko_event_handler
from nameko.messaging import Consumer
from nameko.standalone.events import get_event_exchange
from sqlalchemy.exc import IntegrityError

from shared.events import EventType

log = logging.getLogger(__name__)


def write(method: Callable[..., Any] | None = None, *, replay: bool = True) -> Any:
    """An RPC entrypoint that changes state: commit once per call key, replay after that.

    `replay=False` for results that carry a secret (a fresh bearer token), which must
    never be stored: such a call commits in one transaction and is not replayed.
    """

    def decorate(method: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(method)
        def run(self: Any, *args: Any, **kwargs: Any) -> Any:
            uow = self.db
            key = self.context.call_key if replay else None
            consumer = f"rpc:{self.context.method}"
            if key:
                seen, result = uow.previous_result(consumer, key)
                if seen:
                    return result
            try:
                result = method(self, *args, **kwargs)
                if key:
                    uow.mark_handled(consumer, key, result)
                uow.commit()
            except IntegrityError:
                uow.rollback()
                # A concurrent delivery of the same call committed first: answer as it did.
                if key:
                    seen, result = uow.previous_result(consumer, key)
                    if seen:
                        return result
                uow.compensate()
                raise
            except BaseException:
                uow.rollback()
                uow.compensate()
                raise
            return result

        return run

    return decorate(method) if method is not None else decorate


def idempotent(method: Callable[..., Any]) -> Callable[..., Any]:
    """An entrypoint whose changes are harmless to repeat (an account's first folders, clearing
    NEW, a sweep): it commits them, without a once-per-call record that would grow with every read."""
    return write(replay=False)(method)


# How long a failed handler waits before its event goes back to the queue: nameko requeues at
# once, and without a pause a database outage turns into a busy loop of redeliveries.
REQUEUE_PAUSE = 1.0


def _applied_once(consumer: str, method: Callable[..., Any]) -> Callable[..., Any]:
    """Run `method(self, event)` at most once per event id: its effect and the record commit together."""

    @functools.wraps(method)
    def run(self: Any, event: Any) -> Any:
        if not isinstance(event, dict) or not event.get("id"):
            # Not an event body: it can never be applied, so it is dropped rather than requeued forever.
            log.error("%s: dropped a message that is not an event", consumer)
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

    return run


def event_handler(event: EventType, **kwargs: Any) -> Callable[..., Any]:
    """nameko's event_handler for one declared event, applied once per event id, and redelivered
    if it fails. The handler gets the envelope (shared.events).

    `requeue_on_error=True`: nameko's default acks a failed handler and so drops the event.
    """

    def decorate(method: Callable[..., Any]) -> Callable[..., Any]:
        kwargs.setdefault("requeue_on_error", True)
        run = _applied_once(f"event:{event.source}.{event.name}:{method.__name__}", method)
        return nameko_event_handler(event.source, event.name, **kwargs)(run)

    return decorate


class EveryEvent(Consumer):
    """nameko's `@consume` on a durable queue bound to all of `source_service`'s events (`#`)."""

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


def every_event(source_service: str, queue_name: str, **kwargs: Any) -> Callable[..., Any]:
    """Every event `source_service` emits, including types added later, each applied once.

    The queue outlives the consumer: events emitted while no instance runs wait in it.
    nameko makes the message's `nameko.*` headers the worker's context, so `self.context`
    holds the request id and principal of the call that emitted the event.
    """

    def decorate(method: Callable[..., Any]) -> Callable[..., Any]:
        run = _applied_once(f"events:{source_service}.#:{method.__name__}", method)
        return EveryEvent.decorator(source_service, queue_name, **kwargs)(run)

    return decorate


__all__ = ["write", "idempotent", "event_handler", "every_event"]
