"""How an entrypoint commits: writes applied once, however often the broker delivers them.

nameko's AMQP entrypoints are at-least-once: a service killed after its commit but before
its reply (or ack) gets the same message again, in another instance. These decorators
commit the change together with a `handled_messages` row keyed on the call (or event),
so the second delivery returns the first result instead of writing again.

All expect the service to name its dependencies `db` (shared.dependencies.Database)
and `context` (shared.dependencies.CallContext). `idempotent` commits changes that are
harmless to repeat (first-use defaults, sweeps) without a once-per-call record.
`read` commits nothing but what a call asked to leave behind once it failed or succeeded (`db.on_failure`,
`db.on_success`).
`event_handler` takes one declared event (shared.events); `every_event` every event of a
service (the activity feed). An entrypoint module never commits by itself: these do. An
entrypoint without one of them only reads: its session has no transaction and PostgreSQL
refuses its writes (shared.dependencies).

Both read a quorum queue with a delivery limit (shared.queues): a handler that fails gets its event
back after a pause that doubles with each delivery (1 s up to 30 s); after `DELIVERY_LIMIT`
redeliveries the broker moves it to the dead-letter queue (`python -m shared.dead_letters`). A message
that is not an event at all goes there at once.
"""
from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

import eventlet
from nameko.constants import AMQP_SSL_CONFIG_KEY, AMQP_URI_CONFIG_KEY, LOGIN_METHOD_CONFIG_KEY
from nameko.events import SERVICE_POOL, EventHandler
from nameko.messaging import Consumer
from nameko.standalone.events import get_event_exchange
from sqlalchemy.exc import IntegrityError

from shared import queues
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
            uow.begin_writes()
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
    """An entrypoint whose changes are harmless to repeat (an account's first folders, a sweep): it
    commits them, without a once-per-call record that would grow with every read."""
    return write(replay=False)(method)


def read(method: Callable[..., Any]) -> Callable[..., Any]:
    """An RPC entrypoint that only reads (its session has no transaction, shared.dependencies), but whose
    outcome may now and then leave a trace: what it asked for with `db.on_failure` commits after it
    failed (a wrong token counted against its address), what it asked for with `db.on_success` after it
    succeeded (a session's last use, once a minute), each in a write transaction of its own. A call that
    asked for neither pays for no transaction."""

    @functools.wraps(method)
    def run(self: Any, *args: Any, **kwargs: Any) -> Any:
        self.db.begin_read()
        try:
            result = method(self, *args, **kwargs)
        except BaseException:
            self.db.compensate()
            raise
        self.db.commit_after_success()
        return result

    return run


# How long a failed handler waits before its event goes back to the queue: nameko requeues at
# once, and without a pause a database outage turns into a busy loop of redeliveries. The pause
# doubles with each delivery of the same message, up to MAX_REQUEUE_PAUSE.
REQUEUE_PAUSE = 1.0
MAX_REQUEUE_PAUSE = 30.0


def requeue_pause(deliveries_before: int) -> float:
    """The pause before requeueing a message the broker had delivered `deliveries_before` times already."""
    return min(REQUEUE_PAUSE * 2 ** min(deliveries_before, 16), MAX_REQUEUE_PAUSE)


class NotAnEvent(Exception):
    """A message whose body is not an event: it can never be handled, so it is dead-lettered at once."""


def _applied_once(consumer: str, method: Callable[..., Any],
                  when: Callable[[dict], bool] | None = None) -> Callable[..., Any]:
    """Run `method(self, event)` at most once per event id: its effect and the record commit together.
    An event `when` turns down is acknowledged without a transaction or a record."""

    @functools.wraps(method)
    def run(self: Any, event: Any) -> Any:
        if not isinstance(event, dict) or not event.get("id"):
            raise NotAnEvent(f"{consumer}: the message is not an event; it goes to the dead letters")
        if when is not None and not when(event):
            return None
        uow = self.db
        uow.begin_writes()
        try:
            if not uow.mark_handled(consumer, str(event["id"])):
                uow.rollback()
                return None
            result = method(self, event)
            uow.commit()
        except BaseException:  # an error, or the worker being killed
            uow.rollback()
            raise
        return result

    return run


class _DeadLettering(Consumer):
    """A nameko consumer of a quorum queue with a delivery limit (shared.queues): a failed message
    goes back after a pause, until the broker dead-letters it; one that is not an event, at once."""

    legacy_queue_name: str | None = None

    def declare_queue(self) -> None:
        """The dead-letter queue and this consumer's queue, before nameko consumes it; a classic queue
        of the same consumer from before quorum queues is adopted (shared.queues.adopt_legacy)."""
        config = self.container.config
        queues.declare(config[AMQP_URI_CONFIG_KEY], self.queue, self.legacy_queue_name,
                       ssl=config.get(AMQP_SSL_CONFIG_KEY), login_method=config.get(LOGIN_METHOD_CONFIG_KEY))

    def handle_message_processed(self, message: Any, result: Any = None, exc_info: Any = None) -> None:
        if exc_info is not None and issubclass(exc_info[0], NotAnEvent):
            if message.channel.connection:
                message.reject(requeue=False)  # the broker dead-letters it (reason `rejected`)
            return
        if exc_info is not None and self.requeue_on_error:
            eventlet.sleep(requeue_pause(int((message.headers or {}).get("x-delivery-count") or 0)))
        super().handle_message_processed(message, result, exc_info)


class PortaEventHandler(_DeadLettering, EventHandler):
    """nameko's SERVICE_POOL event handler on a quorum queue `porta.<service>.<method>.<source>.<event>`."""

    def setup(self) -> None:
        if self.handler_type is not SERVICE_POOL or not self.reliable_delivery:
            raise ValueError("shared.entrypoints.event_handler: only SERVICE_POOL handlers with reliable delivery")
        service = self.container.service_name
        names = (service, self.method_name, self.source_service, self.event_type)
        exchange = get_event_exchange(self.source_service, self.container.config)
        self.queue = queues.consumer_queue(queues.handler_queue_name(*names), exchange, self.event_type)
        self.legacy_queue_name = queues.legacy_handler_queue_name(*names)
        self.declare_queue()
        Consumer.setup(self)  # not EventHandler.setup, which would make nameko's classic queue


def event_handler(event: EventType, *, when: Callable[[dict], bool] | None = None,
                  **kwargs: Any) -> Callable[..., Any]:
    """nameko's event_handler for one declared event, applied once per event id, and redelivered
    if it fails, up to the delivery limit (then dead-lettered). The handler gets the envelope
    (shared.events).

    `when(envelope)`: whether the event concerns the handler at all, decided from the envelope alone
    (the same answer on every delivery); one it does not concern costs no database work.
    `requeue_on_error=True`: nameko's default acks a failed handler and so drops the event.
    """

    def decorate(method: Callable[..., Any]) -> Callable[..., Any]:
        kwargs.setdefault("requeue_on_error", True)
        run = _applied_once(f"event:{event.source}.{event.name}:{method.__name__}", method, when)
        return PortaEventHandler.decorator(event.source, event.name, **kwargs)(run)

    return decorate


class EveryEvent(_DeadLettering):
    """nameko's `@consume` on a quorum queue `porta.<queue_name>` bound to all of `source_service`'s
    events (`#`)."""

    def __init__(self, source_service: str, queue_name: str, **kwargs: Any) -> None:
        self.source_service = source_service
        self.queue_name = queue_name
        kwargs.setdefault("requeue_on_error", True)
        # The queue needs the container's config (as the exchange does), so it is made in setup().
        super().__init__(queue=None, **kwargs)

    def setup(self) -> None:
        exchange = get_event_exchange(self.source_service, self.container.config)
        self.queue = queues.consumer_queue(f"{queues.PREFIX}{self.queue_name}", exchange, "#")
        self.legacy_queue_name = self.queue_name  # its name before quorum queues
        self.declare_queue()
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


__all__ = ["write", "idempotent", "read", "event_handler", "every_event", "requeue_pause"]
