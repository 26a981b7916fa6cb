"""The gateway's one RPC client: nameko's wire protocol, shared by every thread of a gunicorn worker.

Why not nameko's `ClusterRpcProxy`: it is single-threaded (its reply listener polls the
connection from the calling thread), and per call it builds a kombu Publisher and Connection,
takes a pooled producer, publishes through `ensure`, waits for a publisher confirm and acks
the reply: about twice our client's CPU per call (bench/rpc.py). A gthread worker needs one
client that many request threads use at once, without serialising their round trips.
So, per process:

- one AMQP connection (py-amqp) with one channel, one exclusive auto-delete reply queue and
  one consumer on it;
- one daemon *reader* thread, the only code that ever reads that socket: it hands each reply
  to the waiting caller by correlation id, turns `basic.return` (unroutable, i.e. no such
  service) into `ServiceUnavailable` for that caller, and sends heartbeats;
- callers publish their request on the same connection under a short write lock (a few
  microseconds of socket write, not the round trip) and wait on their own event with their
  own deadline.

Requests are published with `mandatory=True` and **without** publisher confirms. nameko
confirms each request only to learn about NO_ROUTE synchronously, and for its persistent
request on the service's durable queue the broker sends that confirm once the service has
acked the request (which nameko does after replying) or written it to disk: the confirm waits
for the call itself, plus a hop. Here the reader thread receives the `basic.return`
asynchronously instead, so an unknown service still fails at once. Requests are transient
and carry a per-message TTL equal to the time left: a request nobody picked up before the
caller gave up (504) is dropped by the broker instead of being executed later, and a broker
restart does not replay requests whose callers are gone (their exclusive reply queues die
with their connections anyway).

The wire format is nameko 2.14's (`nameko/rpc.py`, `nameko/standalone/rpc.py`): exchange
`nameko-rpc` (topic, durable), routing key `<service>.<method>`, JSON body
`{"args": [], "kwargs": {...}}`, properties `reply_to` (the reply queue's routing key on
`nameko-rpc`) and `correlation_id`, headers `nameko.<key>` for each context-data key plus
`nameko.call_id_stack`; replies are `{"result": ..., "error": null | {"exc_path", ...}}`.
"""
from __future__ import annotations

import contextvars
import logging
import math
import os
import threading
import time
import uuid
import weakref
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

import amqp
import kombu.serialization
from amqp import spec
from kombu.utils.url import parse_url

from shared import context as ctx
from shared.errors import ServiceTimeout, ServiceUnavailable, UpstreamError, error_from_remote

log = logging.getLogger(__name__)

RPC_EXCHANGE = "nameko-rpc"
HEADER_PREFIX = "nameko"
CALL_ID_STACK = "call_id_stack"
# How long the reader thread blocks on the socket before checking heartbeats and shutdown.
# It is also the socket's permanent timeout (see _Link.__init__), so it bounds a stalled write.
_POLL = 1.0
# Dead-peer detection for a broker that vanished without closing TCP (two missed beats).
_HEARTBEAT = 30
# After a failed connect, calls fail at once for this long instead of each waiting on connect.
_RECONNECT_BACKOFF = 1.0
_CONNECT_TIMEOUT = 5.0


class _NotSent(Exception):
    """The request certainly did not reach the broker, so sending it again cannot run it twice."""


class _Waiter:
    """One caller's slot: the reader thread fills it (reply or error) and sets the event."""

    __slots__ = ("event", "reply", "error")

    def __init__(self) -> None:
        self.event = threading.Event()
        self.reply: amqp.Message | None = None
        self.error: Exception | None = None

    def deliver(self, reply: amqp.Message | None = None, error: Exception | None = None) -> None:
        self.reply, self.error = reply, error
        self.event.set()


class _Link:
    """One broker connection and its reply queue; replaced as a whole when it breaks.

    Threading contract, which is what makes sharing one py-amqp connection safe: after
    `__init__` returns, only the reader thread reads the socket; writers (callers' publishes,
    the reader's heartbeats) take `write_lock`. The socket keeps one fixed timeout (`_POLL`)
    so py-amqp never toggles it between blocking and non-blocking under a concurrent write.
    """

    def __init__(self, amqp_uri: str, client_name: str, connect_timeout: float) -> None:
        parts = parse_url(amqp_uri)
        if parts["transport"] not in ("amqp", "pyamqp", "amqps"):
            raise ValueError(f"RpcClient speaks AMQP only, not {parts['transport']!r}")
        self.pid = os.getpid()
        self.write_lock = threading.Lock()
        self._state_lock = threading.Lock()
        self._pending: dict[str, _Waiter] = {}
        self._stopping = False
        self.dead = False
        self.routing_key = uuid.uuid4().hex
        self.conn = amqp.Connection(
            host=f"{parts['hostname'] or '127.0.0.1'}:{parts['port'] or 5672}",
            userid=parts["userid"] or "guest",
            password=parts["password"] or "guest",
            virtual_host=parts["virtual_host"] or "/",
            ssl=parts["transport"] == "amqps",
            connect_timeout=connect_timeout,
            heartbeat=_HEARTBEAT,
            # Shows as connection_name in `rabbitmqctl list_connections client_properties`.
            client_properties={"connection_name": f"{client_name} rpc pid={self.pid}"},
        )
        try:
            self.conn.connect()
            # Bound the set-up round trips below; afterwards the socket keeps _POLL for good.
            self.conn.transport.sock.settimeout(connect_timeout)
            self.channel = self.conn.channel()
            # Services declare the exchange too; declaring it here lets the client start first.
            self.channel.exchange_declare(RPC_EXCHANGE, "topic", durable=True, auto_delete=False)
            # Exclusive: the queue dies with this connection (process exit, kill -9, broker
            # drop), so no reply queue outlives its process. auto_delete covers a cancelled consumer.
            queue = f"rpc.reply-{client_name}-{self.routing_key}"
            self.channel.queue_declare(queue, durable=False, exclusive=True, auto_delete=True)
            self.channel.queue_bind(queue, RPC_EXCHANGE, self.routing_key)
            # no_ack: an exclusive queue loses its messages with the connection anyway, and
            # acks would be one more write per reply from the reader thread.
            self.channel.basic_consume(queue, no_ack=True, callback=self._on_reply)
            self.channel.events["basic_return"].add(self._on_return)
            self.conn.transport.sock.settimeout(_POLL)
        except BaseException:
            self._discard()
            raise
        self._reader = threading.Thread(target=self._read_forever, name=f"{client_name}-rpc-reader", daemon=True)
        self._reader.start()

    # -- caller side -------------------------------------------------------------------------

    def register(self, correlation_id: str) -> _Waiter:
        """Add a waiter before publishing, so a fast reply always finds it."""
        waiter = _Waiter()
        with self._state_lock:
            if self.dead:
                raise _NotSent("connection already lost")
            self._pending[correlation_id] = waiter
        return waiter

    def forget(self, correlation_id: str) -> None:
        with self._state_lock:
            self._pending.pop(correlation_id, None)

    def publish(self, message: amqp.Message, routing_key: str) -> None:
        """Write one request; raises _NotSent when the write did not complete.

        `send_method` rather than `basic_publish`: the latter may drain the socket (to look
        for `connection.blocked`) from the calling thread, and only the reader may read.
        A failed or partial write never reaches a queue (the broker routes whole messages only).
        """
        try:
            with self.write_lock:
                self.channel.send_method(
                    spec.Basic.Publish, "Bssbb", (0, RPC_EXCHANGE, routing_key, True, False), message
                )
        except Exception as exc:
            self.kill(exc)
            raise _NotSent(str(exc)) from exc

    # -- reader thread -----------------------------------------------------------------------

    def _read_forever(self) -> None:
        reason: BaseException | None = None
        next_tick = 0.0
        try:
            while not self._stopping:
                try:
                    self.conn.drain_events(timeout=_POLL)
                except TimeoutError:  # socket.timeout: nothing arrived within _POLL
                    pass
                now = time.monotonic()
                if now >= next_tick:  # heartbeats need a tick per second at most, not one per reply
                    with self.write_lock:
                        self.conn.heartbeat_tick()
                    next_tick = now + _POLL
        except BaseException as exc:  # any failure of the connection ends this link
            reason = exc
        if not self._stopping:
            log.warning("RPC connection to the broker lost: %r", reason)
            self.kill(reason)

    def _on_reply(self, message: amqp.Message) -> None:
        """Hand the raw reply to its caller, which decodes it: the reader stays free for the next one."""
        with self._state_lock:
            waiter = self._pending.pop(message.properties.get("correlation_id"), None)
        if waiter is None:
            log.debug("RPC reply for an unknown or timed-out call: %s", message.properties.get("correlation_id"))
            return
        waiter.deliver(reply=message)

    def _on_return(self, exc: Exception, exchange: str, routing_key: str, message: amqp.Message) -> None:
        """`basic.return` of a mandatory request: no queue is bound for `<service>.*`."""
        with self._state_lock:
            waiter = self._pending.pop(message.properties.get("correlation_id"), None)
        if waiter is not None:
            service = routing_key.split(".", 1)[0]
            waiter.deliver(error=ServiceUnavailable(f"The {service} service is not running."))

    # -- teardown ----------------------------------------------------------------------------

    def kill(self, reason: BaseException | None = None) -> None:
        """Mark the link dead, drop its socket, fail every call still waiting on it.

        Order matters: `dead` is set under the same lock `register` takes, so a caller either
        registered before (and is failed here) or is refused (and retries on a new link).
        """
        with self._state_lock:
            if self.dead:
                return
            self.dead = True
            pending, self._pending = self._pending, {}
        self._discard()
        for waiter in pending.values():  # one exception object per caller: each thread raises its own
            waiter.deliver(error=ServiceUnavailable("The connection to the message broker was lost."))

    def _discard(self) -> None:
        """Drop the socket without the close handshake (the connection may be half dead)."""
        try:
            self.conn.collect()
        except Exception:  # noqa: S110 - best effort on an already broken connection
            pass

    def close(self) -> None:
        """Stop the reader, then close politely: the broker deletes the exclusive reply queue."""
        self._stopping = True
        if self._reader.is_alive() and self._reader is not threading.current_thread():
            self._reader.join(_POLL + 1.0)
        with self._state_lock:
            already_dead = self.dead
            self.dead = True
            pending, self._pending = self._pending, {}
        for waiter in pending.values():
            waiter.deliver(error=ServiceUnavailable("The RPC client was closed."))
        if already_dead:
            return
        try:
            with self.write_lock:
                self.conn.close()
        except Exception:
            self._discard()


class RpcClient:
    """Thread-safe nameko RPC client for the gateway: one connection and reply queue per process.

    Connects lazily on the first call (gunicorn forks workers after importing the app, and a
    connection must never be shared across a fork), reconnects on the first call after the
    connection broke, and applies `timeout` to each call separately.
    """

    def __init__(self, amqp_uri: str, *, timeout: float = 10.0, client_name: str = "gateway") -> None:
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        self.amqp_uri = amqp_uri
        self.timeout = timeout
        self.client_name = client_name
        self._reset()
        _CLIENTS.add(self)

    def _reset(self) -> None:
        """(Re)create per-process state; also run in a forked child, whose inherited locks and
        connection belong to the parent (a parent thread may even have held a lock at fork time)."""
        self._pid = os.getpid()
        self._link_lock = threading.Lock()
        self._link: _Link | None = None
        self._closed = getattr(self, "_closed", False)
        self._failed_at = -math.inf

    def call(self, service: str, method: str, context: Mapping[str, str] | None = None, *,
             timeout: float | None = None, **kwargs: Any) -> Any:
        """Call `service.method(**kwargs)` and return its result, waiting at most `timeout`
        seconds (default: the client's) — longer only for calls whose work grows with a file.

        `context` items travel as nameko context data (headers `nameko.<key>`, visible as
        `worker_ctx.data` in the service). A fresh `call_key` (uuid4 hex) is added to every call:
        the service applies a write once per key even if the broker redelivers the request.

        Raises the service's domain error (`shared.errors.*`, via `error_from_remote`), an
        `UpstreamError` for anything it did not name, `ServiceTimeout` when no answer came within
        the timeout, and `ServiceUnavailable` when the broker or the service is not there.
        """
        timeout = timeout or self.timeout
        deadline = time.monotonic() + timeout
        call_key = uuid.uuid4().hex
        headers: dict[str, Any] = {
            f"{HEADER_PREFIX}.{key}": value for key, value in (context or {}).items() if value is not None
        }
        headers[f"{HEADER_PREFIX}.{ctx.CALL_KEY}"] = call_key
        # Our entry of nameko's call-id stack (nameko appends its own per hop). Not the call key:
        # the stack is inherited by nested calls, the call key must not be.
        headers[f"{HEADER_PREFIX}.{CALL_ID_STACK}"] = [f"{self.client_name}.{service}.{method}.{uuid.uuid4()}"]
        content_type, content_encoding, body = kombu.serialization.dumps({"args": [], "kwargs": kwargs}, "json")
        routing_key = f"{service}.{method}"

        # Two attempts, and only when the first request certainly never reached the broker
        # (the connection was already gone): then sending it again cannot run it twice.
        for attempt in (1, 2):
            link = self._get_link(deadline)
            correlation_id = uuid.uuid4().hex
            message = amqp.Message(
                body,
                content_type=content_type,
                content_encoding=content_encoding,
                application_headers=headers,
                correlation_id=correlation_id,
                reply_to=link.routing_key,
                delivery_mode=1,
                expiration=str(max(1, math.ceil((deadline - time.monotonic()) * 1000))),
            )
            try:
                waiter = link.register(correlation_id)
                link.publish(message, routing_key)
                break
            except _NotSent as exc:
                link.forget(correlation_id)
                if attempt == 2:
                    raise ServiceUnavailable("The message broker is unreachable.") from exc
        return self._await(waiter, link, correlation_id, deadline, timeout, routing_key)

    def _await(self, waiter: _Waiter, link: _Link, correlation_id: str, deadline: float, timeout: float,
               what: str) -> Any:
        if not waiter.event.wait(max(0.0, deadline - time.monotonic())):
            link.forget(correlation_id)
            if not waiter.event.is_set():  # the reply did not slip in after the wait ended
                raise ServiceTimeout(f"{what} did not answer within {timeout:g} s.")
        if waiter.error is not None:
            raise waiter.error
        body = _decode(waiter.reply, what)
        error = body.get("error")
        if error:
            exc = error_from_remote(error.get("exc_path"), error.get("exc_args"))
            if type(exc) is UpstreamError:  # the service raised something it did not name
                log.warning("%s failed: %s: %s", what, error.get("exc_path"), error.get("value"))
            raise exc
        return body.get("result")

    def _get_link(self, deadline: float) -> _Link:
        """The live link of this process, connecting if there is none (lazily, after fork, after loss)."""
        if self._pid != os.getpid():
            self._reset()  # forked without the at-fork hook having run (belt and braces)
        link = self._link
        if link is not None and not link.dead:
            return link
        if not self._link_lock.acquire(timeout=max(0.0, deadline - time.monotonic())):
            raise ServiceTimeout("Timed out waiting for the connection to the message broker.")
        try:
            if self._closed:
                raise ServiceUnavailable("The RPC client is closed.")
            link = self._link
            if link is not None and not link.dead:
                return link  # another thread reconnected while we waited
            if time.monotonic() - self._failed_at < _RECONNECT_BACKOFF:
                raise ServiceUnavailable("The message broker is unreachable.")
            connect_timeout = max(0.1, min(_CONNECT_TIMEOUT, deadline - time.monotonic()))
            try:
                self._link = _Link(self.amqp_uri, self.client_name, connect_timeout)
            except Exception as exc:
                self._failed_at = time.monotonic()
                log.warning("Cannot connect to the message broker: %r", exc)
                raise ServiceUnavailable("The message broker is unreachable.") from exc
            return self._link
        finally:
            self._link_lock.release()

    def close(self) -> None:
        """Close the connection; the broker then deletes the reply queue. Later calls fail."""
        with self._link_lock:
            self._closed = True
            link, self._link = self._link, None
        if link is not None and link.pid == os.getpid():
            link.close()


T = TypeVar("T")

# What a request runs beside the call it waits on (one pool per worker process, its threads made on demand):
# two calls per request thread at most today (gunicorn's 16), each mostly waiting on the one RPC connection.
_beside = ThreadPoolExecutor(max_workers=32, thread_name_prefix="rpc-beside")


def beside(function: Callable[..., T], *args: Any, **kwargs: Any) -> Future[T]:
    """Run `function(*args, **kwargs)` on another thread, in the caller's context (its request id in the log
    lines), while the caller does something else: a call to one service while another answers (the RPC
    client serves many threads at once), or `begin` of an upload while its first bytes are read."""
    return _beside.submit(contextvars.copy_context().run, function, *args, **kwargs)


def _decode(reply: amqp.Message | None, what: str) -> dict[str, Any]:
    """Decode a reply as nameko encodes it (kombu's json, which also tags datetimes and UUIDs)."""
    try:
        body = kombu.serialization.loads(
            reply.body,
            reply.properties.get("content_type", "application/json"),
            reply.properties.get("content_encoding", "utf-8"),
            accept={"application/json"},
        )
    except Exception as exc:
        log.error("Undecodable reply from %s: %r", what, exc)
        raise UpstreamError("A service sent an answer the gateway cannot read.") from exc
    if not isinstance(body, dict):
        raise UpstreamError("A service sent an answer the gateway cannot read.")
    return body


_CLIENTS: weakref.WeakSet[RpcClient] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    # The child must not use, or even close (close sends a frame on the shared socket), the
    # parent's connection: forget it and start clean.
    for client in list(_CLIENTS):
        client._reset()


os.register_at_fork(after_in_child=_after_fork_in_child)
