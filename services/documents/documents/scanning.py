"""Virus scanning: a document's bytes go from the object store to ClamAV's clamd, and its verdict decides
whether the document leaves quarantine.

When `PORTA_CLAMD_ADDRESS` is set, documents are created `pending` (library.open_document refuses them)
and the service's `document_created` handler streams each one to clamd with `INSTREAM`. The verdict:
`clean`, `infected` (clamd said FOUND), or `too_large` (clamd refused a stream over its StreamMaxLength,
or, with `AlertExceedsMax yes`, reported a `Heuristics.Limits.Exceeded` alert for a file over its
MaxFileSize/MaxScanSize): never cleared, so quarantined like `infected`. No verdict (clamd unreachable,
broke off, answered an error) raises `ScannerUnavailable`: the document stays `pending` and the event
is redelivered later. So the scan fails closed.

Why no library: `clamav-client` (0.7.2, the maintained fork of `clamd`) does INSTREAM from a file object,
but when clamd refuses a stream over StreamMaxLength (it answers `INSTREAM size limit exceeded. ERROR`
and closes the connection while the client is still sending), its next send raises a bare
BrokenPipeError and the answer is never read: a file too large to scan looks like clamd going down, and
would be retried forever (checked against clamd 1.4.6). It also sends 1 KiB chunks. `clamd` (1.0.2,
2014) and `pyclamd` (0.4.0, 2017) are unmaintained. The protocol (clamd(8), INSTREAM) is a few lines:
`zINSTREAM\\0`, then chunks each prefixed with its length as a 4-byte big-endian integer, a zero length to
end, and one `\\0`-terminated answer: `stream: OK`, `stream: <signature> FOUND` or `<reason> ERROR`.
"""
from __future__ import annotations

import logging
import socket
import struct
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import update
from sqlalchemy.orm import Session as DbSession

from documents.models import Document
from shared.contracts.documents import DOCUMENT_INFECTED, DOCUMENT_TOO_LARGE_TO_SCAN
from shared.events import EventType
from shared.storage import ObjectStore

log = logging.getLogger(__name__)

CHUNK_BYTES = 256 * 1024
# Per socket operation; clamd's own limit on one scan (MaxScanTime) is 120 s by default.
TIMEOUT = 180.0
REPLY_LIMIT = 4096
# What clamd reports, with `AlertExceedsMax yes`, for a file over MaxFileSize / MaxScanSize and the like.
LIMITS_EXCEEDED = "Heuristics.Limits.Exceeded"


# The verdicts the firm hears of: those that keep a document quarantined for good.
QUARANTINE_EVENTS: dict[str, EventType] = {"infected": DOCUMENT_INFECTED, "too_large": DOCUMENT_TOO_LARGE_TO_SCAN}


class ScannerUnavailable(Exception):
    """No verdict: clamd cannot be reached, broke off, or answered an error. Try again later."""


@dataclass(frozen=True)
class Verdict:
    status: str  # clean | infected | too_large: the document's new scan_status
    signature: str | None = None  # what clamd found (infected, or the limit a too_large file exceeded)


def parse_address(address: str) -> tuple[socket.AddressFamily, str | tuple[str, int]]:
    """`host:port` (`[::1]:3310` for IPv6) is TCP; a path (`/run/clamav/clamd.ctl`, `unix:` optional) a Unix socket."""
    if address.startswith("unix:"):
        return socket.AF_UNIX, address.removeprefix("unix:").removeprefix("//")
    if address.startswith("/"):
        return socket.AF_UNIX, address
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"PORTA_CLAMD_ADDRESS must be host:port or a socket path, not {address!r}")
    return socket.AF_INET6 if host.startswith("[") else socket.AF_INET, (host.strip("[]"), int(port))


class Clamd:
    """A client of one clamd: a connection per command, as clamd expects without IDSESSION."""

    def __init__(self, address: str, *, timeout: float = TIMEOUT, chunk_bytes: int = CHUNK_BYTES) -> None:
        self.address = address
        self.family, self.sockaddr = parse_address(address)
        self.timeout = timeout
        self.chunk_bytes = chunk_bytes

    def _connect(self) -> socket.socket:
        connection = socket.socket(self.family, socket.SOCK_STREAM)
        connection.settimeout(self.timeout)
        try:
            connection.connect(self.sockaddr)
        except OSError as error:
            connection.close()
            raise ScannerUnavailable(f"clamd at {self.address} cannot be reached: {error}") from error
        return connection

    def ping(self) -> bool:
        """True when clamd answers PONG."""
        try:
            with self._connect() as connection:
                connection.sendall(b"zPING\0")
                return _read_reply(connection) == "PONG"
        except (OSError, ScannerUnavailable):
            return False

    def scan(self, chunks: Iterable[bytes]) -> Verdict:
        """Stream `chunks` to clamd (one piece of at most `chunk_bytes` in memory at a time) and read its verdict."""
        with self._connect() as connection:
            try:
                _send(connection, b"zINSTREAM\0")
                for chunk in chunks:  # an error reading the source is not clamd's: it goes out as it is
                    for start in range(0, len(chunk), self.chunk_bytes):
                        piece = chunk[start:start + self.chunk_bytes]
                        _send(connection, struct.pack("!I", len(piece)) + piece)
                _send(connection, struct.pack("!I", 0))
            except _BrokenOff as broken:
                # Over StreamMaxLength clamd answers and hangs up while we are still sending: read why.
                reply = _read_reply_after_failure(connection)
                if not _too_large(reply):
                    raise ScannerUnavailable(f"clamd at {self.address} broke off the scan: {broken.error}") from None
            else:
                try:
                    reply = _read_reply(connection)
                except OSError as error:
                    raise ScannerUnavailable(f"clamd at {self.address} gave no verdict: {error}") from error
        return verdict_of(reply)


def verdict_of(reply: str) -> Verdict:
    """clamd's answer to INSTREAM as a verdict; an answer that is none raises ScannerUnavailable."""
    if reply == "stream: OK":
        return Verdict("clean")
    if reply.startswith("stream: ") and reply.endswith(" FOUND"):
        signature = reply.removeprefix("stream: ").removesuffix(" FOUND").strip()
        return Verdict("too_large" if signature.startswith(LIMITS_EXCEEDED) else "infected", signature)
    if _too_large(reply):
        return Verdict("too_large", "StreamMaxLength")
    raise ScannerUnavailable(f"clamd gave no verdict: {reply or 'no answer'!r}")


class _BrokenOff(Exception):
    def __init__(self, error: OSError) -> None:
        super().__init__(str(error))
        self.error = error


def _send(connection: socket.socket, data: bytes) -> None:
    try:
        connection.sendall(data)
    except OSError as error:
        raise _BrokenOff(error) from error


def _too_large(reply: str) -> bool:
    return "size limit exceeded" in reply


def _read_reply(connection: socket.socket) -> str:
    """One `\\0`-terminated answer (or whatever came before clamd closed the connection)."""
    reply = b""
    while b"\0" not in reply and len(reply) < REPLY_LIMIT:
        data = connection.recv(REPLY_LIMIT)
        if not data:
            break
        reply += data
    return reply.split(b"\0", 1)[0].decode("utf-8", "replace").strip()


def _read_reply_after_failure(connection: socket.socket) -> str:
    try:
        return _read_reply(connection)
    except OSError:
        return ""


def record_verdict(db: DbSession, document: Document, verdict: Verdict) -> bool:
    """Give a pending document its verdict; False when it has none to wait for any more (another
    delivery recorded one first). The caller commits."""
    changed = db.execute(update(Document)
                         .where(Document.id == document.id, Document.scan_status == "pending")
                         .values(scan_status=verdict.status, updated_at=datetime.now(UTC))
                         .execution_options(synchronize_session=False))
    if changed.rowcount != 1:
        return False
    db.refresh(document)
    if verdict.status != "clean":
        log.warning("document %s quarantined: %s (%s)", document.id, verdict.status, verdict.signature)
    return True


def first_status(clamd_address: str) -> str:
    """A new document's scan status: with a scanner configured it is quarantined until the scanner
    clears it; without one it is not scanned and can be downloaded at once."""
    return "pending" if clamd_address else "not_scanned"


def waits_for_scan(event: dict) -> bool:
    """Whether a `document_created` event is about a document waiting for its verdict. Only a document
    created `pending` ever waits (its status leaves `pending` and never comes back), so one created
    `not_scanned`, as every document is while scanning is off, needs no look at the database."""
    return event["data"]["document"]["scan_status"] == "pending"


@dataclass(frozen=True)
class Scanned:
    document: Document
    verdict: Verdict


def scan_pending(db: DbSession, store: ObjectStore, document_id: uuid.UUID, clamd_address: str) -> Scanned | None:
    """Stream a pending document's bytes to clamd and record the verdict. None when there was
    nothing to do: deleted since, not scanned (scanning off), or another delivery recorded one.
    No verdict raises (ScannerUnavailable), so the event comes back later: it stays pending."""
    document = db.get(Document, document_id)
    if document is None or document.scan_status != "pending":
        return None
    if not clamd_address:
        raise ScannerUnavailable(f"document {document.id} waits for a scan but PORTA_CLAMD_ADDRESS is empty")
    download = store.open(document.object_key)
    try:
        verdict = Clamd(clamd_address).scan(download.chunks)
    finally:
        download.close()
    return Scanned(document, verdict) if record_verdict(db, document, verdict) else None
