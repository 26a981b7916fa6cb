"""A file's bytes between HTTP and the object store; the documents service decides everything else.

Upload: for each file of the request, ask documents where it may go (`begin`) and stream it into
the store while counting and hashing it (never more than one S3 part in memory, nothing on local
disk); once the body has ended cleanly, documents checks and files them all at once (`complete`),
so a request's files are stored all or none. Download: documents says which object, and its bytes
stream back, honouring `Range`.

`complete` carries each file's first bytes (`HEAD_BYTES`, kept while streaming) for documents to
sniff its type from: reading them back from the store cost an S3 round trip per file. While documents
answers `begin`, the file's first bytes (up to READ_AHEAD) are already read from the client.
"""
from __future__ import annotations

import base64
import logging
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, BinaryIO

import falcon
from minio.error import MinioException
from urllib3.exceptions import HTTPError as Urllib3Error

from gateway.checks import check_fields
from gateway.rpc import beside
from shared.errors import BadRequest, PortaError, ServiceUnavailable, ValidationFailed
from shared.storage import MIB, CountingReader, Download, ObjectStore

log = logging.getLogger(__name__)

# Unpacking a large archive takes longer than an ordinary call may.
COMPLETE_TIMEOUT = 300.0
# The non-file fields of a multipart upload (the uploader's name, email) are small.
MAX_FIELD_BYTES = 4096
# Read from the client while documents answers `begin` (a call's time of a fast client's bytes), held in memory.
READ_AHEAD = 2 * MIB


@dataclass
class IncomingFile:
    filename: str
    content_type: str | None
    stream: BinaryIO
    size: int | None
    fields: dict[str, str] = field(default_factory=dict)
    position: int = 0  # how many files of the same request came before this one


def incoming_files(req: falcon.Request) -> Iterator[IncomingFile]:
    """The files of a request: the raw body named by `?filename=`, or every file part of a
    `multipart/form-data` body, read lazily one after the other. Text fields seen before a file
    part travel with it (so an upload form puts name and email first)."""
    if req.content_type and req.content_type.lower().startswith(falcon.MEDIA_MULTIPART):
        fields: dict[str, str] = {}
        position = 0
        for part in _form(req):
            name, filename = _names(part)
            if filename is None:
                value = part.stream.read(MAX_FIELD_BYTES + 1)
                if len(value) > MAX_FIELD_BYTES:
                    raise ValidationFailed("A form field is too long.", {name: ["At most 4096 bytes."]})
                fields[name] = value.decode("utf-8", "replace")
                check_fields([(name, fields[name])])  # NUL: a 422 naming the field (gateway.checks)
                continue
            # Not `part.content_type`: it says text/plain when the part names no type at all.
            declared = part._headers.get(b"content-type")
            yield IncomingFile(filename, declared.decode("latin-1") if declared else None, part.stream, None,
                               dict(fields), position)
            position += 1
        if not position:
            raise ValidationFailed("The form holds no file.", {"file": ["Add at least one file part."]})
        return
    filename = req.get_param("filename")
    if filename is None:
        raise ValidationFailed("Name the file.", {"filename": ["Required with a raw body (or send multipart)."]})
    yield IncomingFile(filename, req.content_type, req.bounded_stream, req.content_length,
                       {k: req.get_param(k) for k in ("uploader_name", "uploader_email") if req.get_param(k)})


def _names(part: Any) -> tuple[str, str | None]:
    """A form part's field name and file name (None for a text field). falcon decodes its header as
    UTF-8 and lets the error through (a 500): a header that is not UTF-8 is a malformed body."""
    try:
        return part.name or "", part.filename
    except UnicodeDecodeError:
        raise BadRequest("A form part's Content-Disposition is not UTF-8: name files in UTF-8.") from None


def _form(req: falcon.Request) -> Any:
    """The multipart form. A chunked one has no Content-Length, which falcon's form parser needs
    (it asserts, a 500): read the server's own input stream, which ends where the chunked body ends."""
    if req.content_length is not None:
        return req.get_media()
    handler = req.options.media_handlers[falcon.MEDIA_MULTIPART]
    return handler.deserialize(req.stream, req.content_type, sys.maxsize)


class FileTransfer:
    def __init__(self, store: ObjectStore) -> None:
        self.store = store

    def receive(self, req: falcon.Request, begin: Callable[[IncomingFile], dict],
                complete: Callable[[list[dict]], dict], cancel: Callable[[list[dict]], Any]) -> list[dict]:
        """Store every file of the request, all or none; the items `complete` answered. Each file streams
        into the store under an upload of its own (`begin`: its ticket), one after the other; only once
        the body has ended cleanly does `complete` get them all (`{upload_id, size, sha256, head}` each), for
        documents to file in one transaction. A multipart part cut short just ends, so it is the form's
        next step that finds the body malformed: nothing is completed before then. On any failure every
        begun upload is cancelled (documents also discards what it refused), so an error stores nothing."""
        tickets: list[dict] = []
        stored: list[dict] = []
        try:
            for incoming in incoming_files(req):
                ticket, stream = self._begin(begin, incoming, tickets)
                reader = CountingReader(stream, int(ticket["max_bytes"]))
                try:
                    self.store.put_stream(ticket["object_key"], reader, max_bytes=int(ticket["max_bytes"]),
                                          content_type="application/octet-stream", length=incoming.size)
                except OSError:
                    if incoming.size is not None and reader.size < incoming.size:
                        # The client went away mid-body (the server hands on what came): not the whole file.
                        raise BadRequest("The body ended before its Content-Length.") from None
                    raise
                stored.append({"upload_id": ticket["upload_id"], "size": reader.size,
                               "sha256": reader.sha256.hexdigest(),
                               "head": base64.b64encode(reader.head).decode("ascii")})
            return complete(stored)["items"]
        except BaseException as exc:
            if tickets:
                self._forget(cancel, tickets)
            if isinstance(exc, (MinioException, Urllib3Error)):
                log.warning("object store failed during an upload: %s", exc)
                raise ServiceUnavailable("The file store is unavailable; try again.") from None
            raise

    @staticmethod
    def _begin(begin: Callable[[IncomingFile], dict], incoming: IncomingFile,
               tickets: list[dict]) -> tuple[dict, BinaryIO]:
        """The file's ticket (added to `tickets`), asked for while its first bytes are read; and its stream,
        those bytes first. A body that fails meanwhile still waits for the ticket, so that it is cancelled."""
        asked: Future[dict] = beside(begin, incoming)
        try:
            first = incoming.stream.read(READ_AHEAD)
        except BaseException:
            if asked.exception() is None:
                tickets.append(asked.result())
            raise
        tickets.append(asked.result())
        return tickets[-1], _ReadAhead(first, incoming.stream)

    @staticmethod
    def _forget(cancel: Callable[[list[dict]], Any], tickets: list[dict]) -> None:
        """Tell documents at once; if that fails too, its sweeper deletes the uploads later."""
        try:
            cancel(tickets)
        except PortaError as exc:
            log.warning("could not cancel uploads %s: %s", [t["upload_id"] for t in tickets], exc)

    def send(self, req: falcon.Request, resp: falcon.Response, download: dict) -> None:
        """The document's bytes as an attachment, the whole or the one range asked for."""
        size = int(download["size"])
        resp.downloadable_as = download["name"]
        resp.content_type = download["content_type"]
        resp.set_header("X-Content-Type-Options", "nosniff")
        resp.set_header("Accept-Ranges", "bytes")
        resp.set_header("Cache-Control", "private, no-store")
        resp.etag = download["sha256"]
        start, end = 0, size - 1
        wanted = _range(req, size)
        if wanted is not None:
            start, end = wanted
            resp.status = falcon.HTTP_206
            resp.set_header("Content-Range", f"bytes {start}-{end}/{size}")
        length = end - start + 1
        resp.content_length = length
        if length <= 0:
            resp.data = b""
            return
        try:
            body = self.store.open(download["object_key"], start, length)
        except (MinioException, Urllib3Error) as exc:
            log.warning("object store failed during a download: %s", exc)
            raise ServiceUnavailable("The file store is unavailable; try again.") from None
        resp.stream = _Body(body, length)


def _range(req: falcon.Request, size: int) -> tuple[int, int] | None:
    """The one byte range asked for, or None for the whole file. A malformed or multi-range
    header is ignored (RFC 9110 allows it); one that starts past the end is a 416."""
    if req.get_header("Range") is None:
        return None
    try:
        wanted = req.range
    except falcon.HTTPInvalidHeader:
        return None
    if wanted is None or req.range_unit != "bytes":
        return None
    first, last = wanted
    if first < 0:  # a suffix: the last -first bytes
        first, last = max(0, size + first), size - 1
    elif last < 0 or last >= size:
        last = size - 1
    if first >= size or first > last:
        raise falcon.HTTPRangeNotSatisfiable(size)
    return first, last


class _ReadAhead:
    """A stream whose first bytes were read already: those, then the rest."""

    def __init__(self, first: bytes, rest: BinaryIO) -> None:
        self.first = first
        self.rest = rest

    def read(self, size: int = -1) -> bytes:
        if not self.first:
            return self.rest.read(size)
        if size is None or size < 0 or size >= len(self.first):
            chunk, self.first = self.first, b""  # the usual case (minio asks for a part): no copy
        else:
            chunk, self.first = self.first[:size], self.first[size:]
        return chunk


class _Body:
    """The object's chunks for the WSGI server, which calls `close` even when the client leaves.
    Never more than `length` bytes, the Content-Length sent: an S3 server may answer a range with
    more than was asked (s3rver sends the whole object for `bytes=0-0`)."""

    def __init__(self, download: Download, length: int) -> None:
        self.download = download
        self.length = length

    def __iter__(self) -> Iterator[bytes]:
        left = self.length
        for chunk in self.download.chunks:
            if left <= 0:
                return
            yield chunk if len(chunk) <= left else chunk[:left]  # slicing copies: only when needed
            left -= len(chunk)

    def close(self) -> None:
        self.download.close()
