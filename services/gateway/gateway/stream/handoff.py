"""Streams and the gateway on one address without a proxy: on one machine (`make run`, the tests), a
gateway worker that reads the head of a stream request passes the connection itself to the stream
process and forgets it, within microseconds; the WSGI app never sees the request and no request thread
waits on the stream.

In production the proxy in front routes the stream paths to the stream Deployment (deploy/k8s,
deploy/compose/edge.conf) and PORTA_STREAM_HANDOFF stays empty: gateway workers then hand nothing off.

The hand-off, over the Unix socket PORTA_STREAM_HANDOFF: one connection per request carrying the client
socket's descriptor (SCM_RIGHTS) and the request as read so far (head re-serialised, small body included),
length-prefixed. The stream process gives the descriptor to uvicorn's own HTTP protocol as if it had
accepted it, and feeds it those bytes first. Stream answers say `Connection: close`, so the connection
carries no second request that would belong to the gateway.
"""
from __future__ import annotations

import asyncio
import logging
import os
import socket
import struct
import threading
from collections.abc import Callable
from typing import Any

from gateway.worker import JsonErrorsWorker

log = logging.getLogger(__name__)

STREAM_PATHS = frozenset({"/api/v1/stream", "/portal/v1/stream"})
MAX_BODY = 64 * 1024
_LENGTH = struct.Struct("!I")


def serialize_request(method: str, uri: str, version: tuple[int, int], headers: list[tuple[str, str]],
                      body: bytes) -> bytes:
    """The request as the client sent it, from gunicorn's parsed form; the body, read whole, is re-framed
    with a Content-Length."""
    kept = [(name, value) for name, value in headers if name.upper() not in ("CONTENT-LENGTH", "TRANSFER-ENCODING")]
    if body or method.upper() in ("POST", "PUT", "PATCH"):
        kept.append(("Content-Length", str(len(body))))
    head = f"{method} {uri} HTTP/{version[0]}.{version[1]}\r\n" + "".join(f"{n}: {v}\r\n" for n, v in kept) + "\r\n"
    return head.encode("latin-1") + body


def send_connection(handoff_path: str, client: socket.socket, request: bytes, timeout: float = 2.0) -> None:
    """Pass `client` (its descriptor) and the bytes already read from it to the stream process."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as channel:
        channel.settimeout(timeout)
        channel.connect(handoff_path)
        socket.send_fds(channel, [_LENGTH.pack(len(request)) + request], [client.fileno()])
        channel.shutdown(socket.SHUT_WR)
        channel.recv(1)  # the stream process has the descriptor once it closes its side


class _Forgotten:
    """Stands for a socket the worker handed off: gunicorn's closing it (a graceful close would shut the
    connection down for the stream process too) does nothing."""

    def setblocking(self, flag: bool) -> None:
        pass

    def shutdown(self, how: int) -> None:
        pass

    def settimeout(self, value: float | None) -> None:
        pass

    def recv(self, size: int) -> bytes:
        return b""

    def close(self) -> None:
        pass

    def fileno(self) -> int:
        return -1


class HandoffWorker(JsonErrorsWorker):
    """The gateway's gthread worker: hands stream requests to the stream process when PORTA_STREAM_HANDOFF
    names its socket; every other request, and every request when it names none, is served as always."""

    # Set by gunicorn.conf.py's post_worker_init (a composition root): PORTA_STREAM_HANDOFF, or "" for none.
    handoff_path = ""

    def handle_request(self, req: Any, conn: Any) -> bool:
        if not self.handoff_path or req.path not in STREAM_PATHS:
            return super().handle_request(req, conn)
        body = req.body.read(MAX_BODY + 1) if req.body else b""
        if len(body) > MAX_BODY:
            self._answer(conn.sock, 413, "Content Too Large", "The body may hold at most 64 KiB.")
            return False
        client = conn.sock
        try:
            send_connection(self.handoff_path, client, serialize_request(req.method, req.uri, req.version,
                                                                         req.headers, body))
        except OSError as error:
            log.warning("stream hand-off failed: %r", error)
            self._answer(client, 503, "Service Unavailable", "Streams are not available right now; try again.")
            return False
        conn.sock = _Forgotten()
        client.close()  # our descriptor only: the stream process holds its own
        return False

    @staticmethod
    def _answer(client: socket.socket, status: int, reason: str, description: str) -> None:
        import json

        body = json.dumps({"title": f"{status} {reason}", "description": description}).encode()
        head = (f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\nX-Content-Type-Options: nosniff\r\nCache-Control: no-store\r\n\r\n")
        try:
            client.sendall(head.encode("latin-1") + body)
        except OSError:
            pass


class HandoffReceiver:
    """The stream process's end: a thread accepts hand-offs on the Unix socket and gives each connection
    to `adopt(sock, first_bytes)` on the event loop."""

    def __init__(self, path: str, loop: asyncio.AbstractEventLoop,
                 adopt: Callable[[socket.socket, bytes], Any]) -> None:
        self.path, self.loop, self.adopt = path, loop, adopt
        if os.path.exists(path):
            os.unlink(path)  # a socket file left by a process that died
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(path)
        os.chmod(path, 0o600)  # only this user's gateway may hand connections over
        self.listener.listen(512)
        self.thread = threading.Thread(target=self._accept_forever, name="stream-handoff", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def close(self) -> None:
        self.listener.close()
        if os.path.exists(self.path):
            os.unlink(self.path)

    def _accept_forever(self) -> None:
        while True:
            try:
                channel, _ = self.listener.accept()
            except OSError:
                return  # closed
            try:
                self._receive(channel)
            except Exception:  # one broken hand-off must not stop the next
                log.exception("stream hand-off could not be received")
            finally:
                channel.close()

    def _receive(self, channel: socket.socket) -> None:
        channel.settimeout(2.0)
        data, fds, _, _ = socket.recv_fds(channel, 65536, 1)
        if not fds:
            return
        client = socket.socket(fileno=fds[0])
        while len(data) < _LENGTH.size or len(data) < _LENGTH.size + _LENGTH.unpack_from(data)[0]:
            more = channel.recv(65536)
            if not more:
                client.close()
                return
            data += more
        request = data[_LENGTH.size:_LENGTH.size + _LENGTH.unpack_from(data)[0]]
        client.setblocking(False)
        self.loop.call_soon_threadsafe(self.adopt, client, request)


def uvicorn_adopter(server: Any) -> Callable[[socket.socket, bytes], None]:
    """`adopt(sock, first_bytes)` for a running uvicorn `Server`: serves `sock` with uvicorn's HTTP protocol,
    exactly as a connection uvicorn accepted (uvicorn.server.Server.startup's `create_protocol`)."""
    config = server.config

    def protocol() -> Any:
        return config.http_protocol_class(config=config, server_state=server.server_state,
                                          app_state=server.lifespan.state)

    async def serve(sock: socket.socket, first: bytes) -> None:
        loop = asyncio.get_running_loop()
        try:
            _, http = await loop.connect_accepted_socket(protocol, sock)
        except OSError:
            sock.close()
            return
        http.data_received(first)

    def adopt(sock: socket.socket, first: bytes) -> None:
        asyncio.ensure_future(serve(sock, first))

    return adopt
