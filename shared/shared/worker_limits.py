"""Consumers that may hold only a few of a service's workers, so its RPCs always find one.

A nameko service runs every entrypoint's workers from one pool (`max_workers`, 10 here), and its one
QueueConsumer lets each consumer take as many unacked messages as that (the prefetch). A handler of
long messages (a bulk message's batches) with a full queue therefore takes every worker, and the
service's RPCs (the job's own progress) wait for one to finish: a 504 at the gateway.

`limit_workers(n)` gives a consumer entrypoint (shared.entrypoints' `event_handler`, `every_event`)
a QueueConsumer of its own, on a connection of its own, with a prefetch of `n`: the broker hands it at
most `n` messages at a time (a message is acked when its worker is done), so it holds at most `n`
workers; the rest wait in the queue, for this instance or another. It goes above the consumer's
decorator:

    @limit_workers(2)
    @event_handler(BULK_BATCH_QUEUED)
    def on_bulk_batch_queued(self, event): ...
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR
from nameko.messaging import Consumer, QueueConsumer

F = TypeVar("F", bound=Callable[..., Any])


class LimitedQueueConsumer(QueueConsumer):
    """nameko's QueueConsumer with its own prefetch; one per container and limit (its own connection)."""

    def __init__(self, prefetch: int) -> None:
        super().__init__()
        self.prefetch = prefetch

    @property
    def sharing_key(self) -> tuple[type, int]:
        return type(self), self.prefetch

    @property
    def prefetch_count(self) -> int:
        return self.prefetch


def limit_workers(workers: int) -> Callable[[F], F]:
    """The consumer entrypoint below holds at most `workers` of the service's workers at a time."""
    if workers < 1:
        raise ValueError("limit_workers: at least one worker")

    def decorate(method: F) -> F:
        consumers = [e for e in getattr(method, ENTRYPOINT_EXTENSIONS_ATTR, ()) if isinstance(e, Consumer)]
        if not consumers:
            raise TypeError(f"limit_workers({workers}) goes above a consumer's decorator (event_handler, "
                            f"every_event); {getattr(method, '__name__', method)!r} has none")
        for entrypoint in consumers:
            # nameko binds an entrypoint's sub-extensions from its prototype's attributes: this one
            # replaces the class's QueueConsumer for this entrypoint only.
            entrypoint.queue_consumer = LimitedQueueConsumer(workers)
        return method

    return decorate


__all__ = ["LimitedQueueConsumer", "limit_workers"]
