"""JSON bodies with a size limit enforced while reading, so a chunked body cannot lie its way past it, and
checked (gateway.checks) before any service sees them."""
from __future__ import annotations

import logging
from typing import Any

import falcon
from falcon.media import JSONHandler

from gateway.checks import check_json
from shared.errors import BadRequest, PayloadTooLarge

log = logging.getLogger(__name__)

# A refused body is read and dropped up to this much, so the client's keep-alive connection
# stays usable; past it gunicorn gives up draining and closes the connection (RFC 9110 allows it).
DRAIN_LIMIT = 16 * 1024 * 1024
CHUNK = 64 * 1024


def _refuse(stream: Any, max_bytes: int) -> PayloadTooLarge:
    drained = 0
    while drained < DRAIN_LIMIT:
        chunk = stream.read(CHUNK)
        if not chunk:
            break
        drained += len(chunk)
    return PayloadTooLarge(f"JSON bodies are limited to {max_bytes} bytes.")


class LimitedJSONHandler(JSONHandler):
    def __init__(self, max_bytes: int) -> None:
        super().__init__()
        self.max_bytes = max_bytes

    def deserialize(self, stream: Any, content_type: str | None, content_length: int | None) -> Any:
        if content_length is not None and content_length > self.max_bytes:
            raise _refuse(stream, self.max_bytes)
        data = stream.read(self.max_bytes + 1)
        if len(data) > self.max_bytes:
            raise _refuse(stream, self.max_bytes)
        try:
            document = self._deserialize(data)
        except RecursionError:  # `[` x 100,000: nested past what the parser can follow
            raise falcon.MediaMalformedError(falcon.MEDIA_JSON) from None
        check_json(document)
        return document


class ClientInput:
    """The server's input stream, whose failures are the client's: a chunked body that stops before its
    last chunk, a malformed chunk, a connection lost mid-body. gunicorn raises its own errors for these,
    which would be 500s; they are a 400 (nobody may be listening any more, but nothing is half-done)."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def _reading(self, method: Any, *args: Any) -> Any:
        try:
            return method(*args)
        except Exception as exc:  # gunicorn's ParseException and NoMoreData, socket errors
            log.info("the request body could not be read: %r", exc)
            raise BadRequest("The request body ended early or is malformed.") from None

    def read(self, *args: Any) -> bytes:
        return self._reading(self._stream.read, *args)

    def readline(self, *args: Any) -> bytes:
        return self._reading(self._stream.readline, *args)

    def readlines(self, *args: Any) -> list[bytes]:
        return self._reading(self._stream.readlines, *args)

    def __iter__(self) -> Any:
        return iter(self.readline, b"")


class Request(falcon.Request):
    """falcon's request, but a body sent chunked (no Content-Length) is read to its end: falcon's
    bounded stream reads nothing without a length, while the server's own input stream (gunicorn's)
    ends where the chunked body ends. Size limits apply while reading either way. A body that cannot
    be read to its end is a 400 (`ClientInput`)."""

    def __init__(self, env: dict, options: Any = None) -> None:
        env["wsgi.input"] = ClientInput(env["wsgi.input"])
        super().__init__(env, options)

    @property
    def bounded_stream(self) -> Any:  # type: ignore[override]
        if self.content_length is None and "chunked" in (self.get_header("Transfer-Encoding") or "").lower():
            return self.stream
        return super().bounded_stream


def json_handlers(max_bytes: int) -> falcon.media.Handlers:
    handler = LimitedJSONHandler(max_bytes)
    return falcon.media.Handlers({falcon.MEDIA_JSON: handler})


def request_handlers(max_json_bytes: int) -> falcon.media.Handlers:
    """JSON (limited), and multipart/form-data for uploads: its parts are read lazily, one file
    part's stream at a time, so a file goes to the object store without being buffered."""
    multipart = falcon.media.MultipartFormHandler()
    # Only the small text fields are buffered; file parts are streamed (gateway.transfer).
    multipart.parse_options.max_body_part_buffer_size = 64 * 1024
    multipart.parse_options.max_body_part_count = 1000
    handlers = json_handlers(max_json_bytes)
    handlers[falcon.MEDIA_MULTIPART] = multipart
    return handlers
