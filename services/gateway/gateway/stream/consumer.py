"""The stream process's one AMQP consumer (aio-pika, in the event loop) feeding the hub.

Its queue is exclusive to the process and deleted with it: a stream pushes what happens while it is open,
and a client that (re)connects reads the current state over the API first. The queue is bound to the
services' event exchanges (`<service>.events`, nameko's durable topic exchanges, declared with the same
arguments) for exactly the events `audience.BINDINGS` names. Events are dispatched one at a time in the
order they arrived, and acknowledged once dispatched; at most `PREFETCH` wait unacknowledged.
"""
from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Mapping

import aio_pika
from aio_pika.abc import AbstractIncomingMessage

from gateway.stream.audience import BINDINGS
from gateway.stream.hub import Hub

log = logging.getLogger(__name__)

PREFETCH = 500


def amqp_url(amqp_uri: str) -> str:
    """aio-pika's URL for the URI nameko and kombu use (`pyamqp://` is kombu's name for `amqp://`)."""
    scheme, sep, rest = amqp_uri.partition("://")
    return ("amqp" if scheme in ("pyamqp", "amqp") else scheme) + sep + rest


class EventConsumer:
    def __init__(self, amqp_uri: str, hub: Hub, bindings: Mapping[str, tuple[str, ...]] = BINDINGS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.url = amqp_url(amqp_uri)
        self.hub = hub
        self.bindings = bindings
        self.clock = clock
        self.ready = asyncio.Event()
        self._inbox: asyncio.Queue = asyncio.Queue()
        self._connection: aio_pika.abc.AbstractRobustConnection | None = None

    async def run(self) -> None:
        """Connect (again after a loss: aio-pika's robust connection re-declares queue and bindings), consume
        and dispatch until cancelled."""
        self._connection = await aio_pika.connect_robust(
            self.url, client_properties={"connection_name": "gateway-stream"})
        try:
            channel = await self._connection.channel()
            await channel.set_qos(prefetch_count=PREFETCH)
            queue = await channel.declare_queue("", exclusive=True, auto_delete=True)
            for source, names in self.bindings.items():
                exchange = await channel.declare_exchange(f"{source}.events", aio_pika.ExchangeType.TOPIC,
                                                          durable=True)
                for name in names:
                    await queue.bind(exchange, routing_key=name)
            await queue.consume(self._received)
            self.ready.set()
            await self._dispatch_forever()
        finally:
            await self._connection.close()

    async def _received(self, message: AbstractIncomingMessage) -> None:
        # Stamped on arrival: the hub's access checks must begin after this moment to count for it.
        self._inbox.put_nowait((message, self.clock()))

    async def _dispatch_forever(self) -> None:
        while True:
            message, received = await self._inbox.get()
            try:
                envelope = json.loads(message.body)
                await self.hub.dispatch(envelope, received)
            except Exception:  # one bad event must not stop every stream of the process
                log.exception("event %s could not be dispatched to streams", message.message_id)
            finally:
                await message.ack()
