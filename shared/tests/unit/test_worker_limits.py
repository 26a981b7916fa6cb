"""shared.worker_limits: a limited consumer gets a QueueConsumer of its own with that prefetch, in every
container; the service's other consumers keep nameko's (prefetch = max_workers)."""
from __future__ import annotations

import pytest
from nameko.containers import ServiceContainer
from nameko.messaging import QueueConsumer

from shared.contracts.chats import BULK_BATCH_QUEUED
from shared.contracts.documents import DOCUMENT_DELETED
from shared.entrypoints import event_handler
from shared.worker_limits import LimitedQueueConsumer, limit_workers


class Service:
    name = "limited"

    @limit_workers(2)
    @event_handler(BULK_BATCH_QUEUED)
    def slow(self, event: dict) -> None: ...

    @event_handler(DOCUMENT_DELETED)
    def quick(self, event: dict) -> None: ...


def queue_consumers(container: ServiceContainer) -> dict[str, QueueConsumer]:
    return {entrypoint.method_name: entrypoint.queue_consumer for entrypoint in container.entrypoints}


def test_only_the_limited_handler_prefetches_its_limit_in_every_container() -> None:
    config = {"AMQP_URI": "pyamqp://guest:guest@127.0.0.1:1/", "max_workers": 10}  # bound, never started
    for container in (ServiceContainer(Service, config), ServiceContainer(Service, config)):
        consumers = queue_consumers(container)
        assert isinstance(consumers["slow"], LimitedQueueConsumer) and consumers["slow"].prefetch_count == 2
        assert type(consumers["quick"]) is QueueConsumer and consumers["quick"].prefetch_count == 10
        assert consumers["slow"].container is not None and consumers["slow"] in container.subextensions


def test_the_limit_goes_above_a_consumers_decorator() -> None:
    def handler(self: object, event: dict) -> None: ...

    with pytest.raises(TypeError, match="above a consumer's decorator"):
        event_handler(BULK_BATCH_QUEUED)(limit_workers(2)(handler))
