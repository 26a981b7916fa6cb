"""How an entrypoint commits: writes applied once, however often the broker delivers them.

nameko's AMQP entrypoints are at-least-once: a service killed after its commit but before
its reply (or ack) gets the same message again, in another instance. These decorators
commit the change together with a `handled_messages` row keyed on the call (or event),
so the second delivery returns the first result instead of writing again.

Both expect the service to name its dependencies `db` (shared.dependencies.Database)
and `context` (shared.dependencies.CallContext).
"""
from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from nameko.events import event_handler as nameko_event_handler
from sqlalchemy.exc import IntegrityError

from shared import context as ctx


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
                raise
            except BaseException:
                uow.rollback()
                raise
            return result

        return run

    return decorate(method) if method is not None else decorate


def event_handler(source_service: str, event_type: str, **kwargs: Any) -> Callable[..., Any]:
    """nameko's event_handler, applied once per event id, and redelivered if it fails.

    `requeue_on_error=True`: nameko's default acks a failed handler and so drops the event.
    """

    def decorate(method: Callable[..., Any]) -> Callable[..., Any]:
        consumer = f"event:{source_service}.{event_type}:{method.__name__}"

        @functools.wraps(method)
        def run(self: Any, event: dict[str, Any]) -> Any:
            uow = self.db
            if not uow.mark_handled(consumer, str(event["id"])):
                uow.rollback()
                return None
            try:
                result = method(self, event)
                uow.commit()
            except BaseException:
                uow.rollback()
                raise
            return result

        kwargs.setdefault("requeue_on_error", True)
        return nameko_event_handler(source_service, event_type, **kwargs)(run)

    return decorate


__all__ = ["write", "event_handler", "ctx"]
