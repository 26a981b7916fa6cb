"""Porta's `@rpc` entrypoint: nameko's, with a leaner reply path. Use it instead of `nameko.rpc.rpc`.

What nameko 2.14's `Responder` does for every reply: build a `Publisher`, build a kombu
`Connection` (parsing the URI), acquire a producer from kombu's pool, publish through
`connection.ensure` with publisher confirms on and `delivery_mode=2`, and wait for the
confirm before acking the request. Measured in bench/rpc.py (2 vCPUs, loopback broker, no-op
method, three runs): nameko's @rpc spends 705-750 us of service CPU per call, this one 525-555
us (-26 %); with 10 concurrent callers a service process answers 1,520-1,700 calls/s instead of
1,030-1,480. The p50 of a single caller moves little (0-0.15 ms): a caller that does not wait
for its own request's confirm already has the reply while the service still waits for the
reply's confirm. On a 2-core box shared with the broker and the gateway, service CPU is the
resource that runs out first.

Here the reply goes out on one connection per service container, held by the RPC consumer,
without a confirm, transient (reply queues are never durable, so persistence bought nothing).

Reliability trade-off of dropping the confirm: nameko acks the request only after the reply
was handed over. With a confirm, a reply the broker did not take raises in the worker, the
request stays unacked and is redelivered. Without it, a reply lost because the connection
died between our write and the broker's routing leaves the request acked and the caller
without an answer: the caller gets `ServiceTimeout` (504), as if the service had been slow.
That window is small: before each publish py-amqp reads what the broker sent on this
connection (`connection.blocked` check), so a connection the broker closed is noticed and
replaced before we write on it, and a write that fails is retried once on a new connection.
A reply can still be lost to a network black hole; the caller then gives up after its timeout
either way. What a lost reply costs is the ambiguity of any timeout (the write may have been
applied), which the API must handle anyway (a 504 never means "not done"); it never causes a
second application: requests are untouched (still acked after the reply, still at-least-once)
and a redelivered write is applied once per `call_key` (shared.entrypoints.write).

Two more per-call costs of nameko are cut here (bench/call_cost.py): its `check_signature` runs
`inspect.getcallargs` on every request (tens of microseconds; here the signature is read once and
a call by keywords is checked against its names), and its `Responder` serialises the result once
to check it and then the whole reply again to send it (here once).

Use `shared.rpc.rpc` for **every** RPC entrypoint of a service: each flavour has its own
shared consumer on the same `rpc-<service>` queue, and a consumer that receives a method
registered with the other flavour answers `MethodNotFound`. `FastRpcConsumer.setup` refuses
to start a service that mixes them.
"""
from __future__ import annotations

import inspect
import logging
import os
import sys
from typing import Any

import amqp
import kombu.serialization
from eventlet.semaphore import Semaphore
from kombu import Connection
from nameko.constants import AMQP_SSL_CONFIG_KEY, AMQP_URI_CONFIG_KEY, LOGIN_METHOD_CONFIG_KEY, NON_PERSISTENT
from nameko.exceptions import IncorrectSignature, UnserializableValueError, serialize
from nameko.rpc import Rpc, RpcConsumer, get_rpc_exchange

from shared.errors import PortaError
from shared.logs import ExpectedErrorsFilter

CONNECT_TIMEOUT = 5.0


class ReplyPublisher:
    """Publishes replies for one service container on one connection, kept between replies.

    Worker greenthreads take turns (a green lock around a socket write of a few microseconds),
    which also keeps py-amqp's pre-publish read of the connection to one greenthread at a time.
    A reply goes straight to py-amqp's channel: kombu's Producer would rebuild the message's
    properties and look up its per-thread batch, an eventlet local made anew for every worker.
    """

    def __init__(self, amqp_uri: str, exchange: Any, ssl: Any = None, login_method: str | None = None,
                 name: str = "rpc-replies") -> None:
        self.amqp_uri, self.exchange, self.ssl, self.login_method = amqp_uri, exchange, ssl, login_method
        self.name = name
        self._lock = Semaphore(1)
        self._connection: Connection | None = None
        self._channel: Any = None

    def publish(self, body: bytes | str, *, content_type: str, content_encoding: str, routing_key: str,
                correlation_id: str | None) -> None:
        """Send one serialised reply (`FastRpcConsumer.send_reply`), transient."""
        message = amqp.Message(body, content_type=content_type, content_encoding=content_encoding,
                               correlation_id=correlation_id, delivery_mode=NON_PERSISTENT)
        with self._lock:
            for attempt in (1, 2):
                try:
                    channel = self._channel or self._connect()
                    channel.basic_publish(message, exchange=self.exchange.name, routing_key=routing_key)
                    return
                except Exception:
                    # A dead or closed connection (or a channel the broker closed): start over
                    # once on a fresh connection; a second failure goes to nameko, which then
                    # leaves the request unacked, as it does when its own publisher fails.
                    self._discard()
                    if attempt == 2:
                        raise

    def _connect(self) -> Any:
        connection = Connection(
            self.amqp_uri, ssl=self.ssl, login_method=self.login_method, connect_timeout=CONNECT_TIMEOUT,
            # Shows as connection_name in `rabbitmqctl list_connections client_properties`.
            transport_options={"client_properties": {"connection_name": f"{self.name} pid={os.getpid()}"}},
        )
        try:
            channel = connection.channel()
            self.exchange(channel).declare()  # as kombu's Producer did: a reply needs nameko-rpc to exist
        except Exception:
            connection.release()
            raise
        self._connection, self._channel = connection, channel
        return channel

    def _discard(self) -> None:
        connection, self._connection, self._channel = self._connection, None, None
        if connection is not None:
            try:
                connection.release()
            except Exception:  # noqa: S110 - the connection is already broken; nothing to save
                pass

    def close(self) -> None:
        with self._lock:
            self._discard()


class FastRpcConsumer(RpcConsumer):
    """nameko's RpcConsumer with the container-wide ReplyPublisher."""

    _reply_publisher: ReplyPublisher | None = None

    def setup(self) -> None:
        entrypoints = self.container.entrypoints
        mixed = [ep.method_name for ep in entrypoints if isinstance(ep, Rpc) and not isinstance(ep, FastRpc)]
        if mixed:
            raise RuntimeError(
                f"{self.container.service_name}: use shared.rpc.rpc for every RPC method, not nameko.rpc.rpc "
                f"({', '.join(sorted(mixed))}); two RPC consumers on one queue answer MethodNotFound."
            )
        super().setup()
        config = self.container.config
        self._reply_publisher = ReplyPublisher(
            config[AMQP_URI_CONFIG_KEY], get_rpc_exchange(config),
            ssl=config.get(AMQP_SSL_CONFIG_KEY), login_method=config.get(LOGIN_METHOD_CONFIG_KEY),
            name=f"{self.container.service_name} rpc-replies",
        )

    def handle_result(self, message: Any, result: Any, exc_info: Any) -> tuple[Any, Any]:
        # nameko 2.14.1's RpcConsumer.handle_result, with our publisher: reply, then ack.
        result, exc_info = self.send_reply(message, result, exc_info)
        self.queue_consumer.ack_message(message)
        return result, exc_info

    def send_reply(self, message: Any, result: Any, exc_info: Any) -> tuple[Any, Any]:
        """nameko 2.14.1's Responder.send_response without a Responder per call, serialising once: the
        reply is encoded the way the request was; a result that cannot be serialised becomes an
        `UnserializableValueError` for the caller (and for nameko, which then logs it) instead of
        killing the container."""
        error = serialize(exc_info[1]) if exc_info is not None else None
        properties = message.properties
        serializer = kombu.serialization.registry.type_to_name[properties["content_type"]]
        try:
            content_type, encoding, body = kombu.serialization.dumps({"result": result, "error": error}, serializer)
        except Exception:
            exc_info = sys.exc_info()
            result, error = None, serialize(UnserializableValueError(result))  # always serialisable
            content_type, encoding, body = kombu.serialization.dumps({"result": None, "error": error}, serializer)
        self._reply_publisher.publish(body, content_type=content_type, content_encoding=encoding,
                                      routing_key=properties["reply_to"],
                                      correlation_id=properties.get("correlation_id"))
        return result, exc_info

    def stop(self) -> None:
        super().stop()
        if self._reply_publisher is not None:
            self._reply_publisher.close()

    def kill(self) -> None:
        super().kill()
        if self._reply_publisher is not None:
            self._reply_publisher.close()


class FastRpc(Rpc):
    rpc_consumer = FastRpcConsumer()

    def setup(self) -> None:
        super().setup()
        method = getattr(self.container.service_cls, self.method_name)
        # As getcallargs sees it: a decorator's (*args, **kwargs), not the method it wraps.
        self._signature = inspect.signature(method, follow_wrapped=False)
        params = list(self._signature.parameters.values())[1:]  # after self
        plain = all(p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) for p in params)
        self._names = frozenset(p.name for p in params) if plain else None
        self._required = frozenset(p.name for p in params if p.default is p.empty)

    def check_signature(self, args: Any, kwargs: Any) -> None:
        """nameko's check (IncorrectSignature before a worker starts), with the signature read once."""
        if not args and self._names is not None and self._required <= kwargs.keys() <= self._names:
            return  # the common call: keywords only, all known, none missing
        try:
            self._signature.bind(None, *args, **kwargs)
        except TypeError as error:
            raise IncorrectSignature(f"{self.method_name}(): {error}") from None


# nameko logs each expected error as a warning with its traceback; the call's own line says enough.
logging.getLogger("nameko.containers").addFilter(ExpectedErrorsFilter())


def rpc(method: Any = None, **options: Any) -> Any:
    """`@rpc` or `@rpc(...)`: a FastRpc entrypoint. Domain errors are expected answers (a 404, a
    422), logged as the call's outcome (shared.dependencies.CallContext), not as errors with a
    traceback: a stream of wrong link guesses must not read as an incident, nor cost one."""
    options.setdefault("expected_exceptions", (PortaError,))
    register = FastRpc.decorator(**options)
    return register(method) if method is not None else register
