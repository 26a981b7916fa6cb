"""The virus scan against a real clamd (devstack's `clamd` fixture: Debian's clamav-daemon whose only signature
is EICAR, StreamMaxLength 2 MiB): the INSTREAM client alone, then the service's `document_created` handler
over the run's broker, database and bucket, with crm and links as test doubles."""
from __future__ import annotations

import base64
import hashlib
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from devstack.clamav import EICAR, SIGNATURE, ClamdDaemon
from nameko.events import event_handler
from nameko.standalone.rpc import ServiceRpcProxy
from nameko.testing.services import entrypoint_waiter
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from documents.models import Document, messaging
from documents.scanning import Clamd, ScannerUnavailable, Verdict
from shared.errors import Conflict
from shared.storage import HEAD_BYTES

PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


# -- the INSTREAM client ----------------------------------------------------------------------------


def test_eicar_is_found_even_split_across_small_chunks(clamd: ClamdDaemon):
    verdict = Clamd(clamd.address, chunk_bytes=7).scan([b"a letter, then ", EICAR[:30], EICAR[30:], b"\n"])

    assert verdict.status == "infected"
    assert verdict.signature is not None and verdict.signature.startswith(SIGNATURE)


def test_a_clean_pdf_is_clean_over_the_unix_socket_too(clamd: ClamdDaemon):
    assert Clamd(clamd.address).scan([PDF]) == Verdict("clean")
    assert Clamd(str(clamd.socket_path)).scan([PDF]) == Verdict("clean")


def test_a_stream_up_to_stream_max_length_is_scanned_and_one_byte_more_is_too_large(clamd: ClamdDaemon):
    limit = clamd.stream_max_length
    megabyte = b"\0" * (1024 * 1024)

    def zeros(size: int) -> Iterator[bytes]:
        for start in range(0, size, len(megabyte)):
            yield megabyte[:min(len(megabyte), size - start)]

    assert Clamd(clamd.address).scan(zeros(limit)).status == "clean"
    assert Clamd(clamd.address).scan(zeros(limit + 1)).status == "too_large"
    # Far over the limit clamd hangs up while we are still sending: still too large, not an outage.
    assert Clamd(clamd.address).scan(zeros(limit * 8)).status == "too_large"


# -- the service: uploads wait in quarantine for their verdict ------------------------------------------


class Quarantines:
    """Records the quarantine events the documents service publishes (as the activity feed would see them)."""

    name = "quarantine_listener"
    seen: list[dict] = []

    @event_handler("documents", "document_infected")
    def infected(self, event: dict) -> None:
        Quarantines.seen.append(event)

    @event_handler("documents", "document_too_large_to_scan")
    def too_large(self, event: dict) -> None:
        Quarantines.seen.append(event)


@dataclass
class Documents:
    container: Any
    config: dict[str, Any]
    firm_id: uuid.UUID
    account_id: uuid.UUID
    engine: Engine
    put_object: Callable[[str, bytes], None]
    staff: uuid.UUID

    def call(self, method: str, **kwargs: Any) -> Any:
        context = {"call_key": uuid.uuid4().hex, "firm_id": str(self.firm_id), "user_id": str(self.staff),
                   "user_kind": "staff"}
        with ServiceRpcProxy("documents", self.config, timeout=30, context_data=context) as proxy:
            return getattr(proxy, method)(**kwargs)

    def upload(self, name: str, data: bytes) -> dict:
        """A staff upload as the gateway makes it: begin, the bytes into the store, complete."""
        ticket = self.call("begin_upload", account_id=str(self.account_id), payload={"filename": name,
                                                                                   "size": len(data)})
        self.put_object(ticket["object_key"], data)
        [document] = self.call("complete_uploads", payload={"items": [{
            "upload_id": ticket["upload_id"], "size": len(data), "sha256": hashlib.sha256(data).hexdigest(),
            "head": base64.b64encode(data[:HEAD_BYTES]).decode()}]})["items"]
        return document

    def status(self, document_id: str) -> str:
        with Session(self.engine) as session:
            document = session.get(Document, uuid.UUID(document_id))
            assert document is not None
            return document.scan_status

    def verdict(self, document_id: str, timeout: float = 30.0) -> str:
        """The document's scan status once it is not pending any more."""
        deadline = time.monotonic() + timeout
        while (status := self.status(document_id)) == "pending":
            assert time.monotonic() < deadline, f"document {document_id} still pending after {timeout}s"
            time.sleep(0.1)
        return status


@pytest.fixture
def quarantines(container_factory: Callable[..., Any], nameko_config: dict[str, Any],
                monkeypatch: pytest.MonkeyPatch) -> list[dict]:
    monkeypatch.setattr(Quarantines, "seen", [])
    container_factory(Quarantines, nameko_config).start()
    return Quarantines.seen


@pytest.fixture
def documents(start_documents: Callable[..., Any], documents_engine: Engine, firm_id: uuid.UUID,
              account_id: uuid.UUID, put_object: Callable[[str, bytes], None], clamd: ClamdDaemon,
              quarantines: list[dict]) -> Documents:
    """The documents service with scanning on (its clamd_address: the run's clamd)."""
    running = start_documents(clamd_address=clamd.address)
    return Documents(running.container, running.config, firm_id, account_id, documents_engine, put_object,
                     uuid.uuid4())


def test_an_upload_with_the_eicar_string_is_quarantined_then_infected_and_the_firm_is_told(documents, quarantines):
    document = documents.upload("eicar.txt", EICAR)

    assert document["scan_status"] == "pending"
    assert documents.verdict(document["id"]) == "infected"
    with pytest.raises(Conflict, match="failed its virus scan"):
        documents.call("open_document", document_id=document["id"])
    deadline = time.monotonic() + 15
    while not quarantines and time.monotonic() < deadline:
        time.sleep(0.1)
    [event] = quarantines
    assert event["type"] == "document_infected"
    assert event["data"]["document"]["id"] == document["id"]
    assert event["data"]["document"]["scan_status"] == "infected"
    assert event["data"]["signature"].startswith(SIGNATURE)
    assert event["firm_id"] == str(documents.firm_id)  # in the envelope, not in the data any more
    assert event["actor"] is None  # the verdict is the system's own work


def test_a_clean_pdf_becomes_clean_and_can_be_downloaded(documents, quarantines):
    document = documents.upload("report.pdf", PDF)

    assert document["scan_status"] == "pending"  # refused until then (see the test with clamd down)
    assert documents.verdict(document["id"]) == "clean"
    assert documents.call("open_document", document_id=document["id"])["object_key"]
    assert quarantines == []


def test_while_clamd_is_down_an_upload_stays_pending_and_is_cleared_once_clamd_is_back(documents, clamd):
    clamd.stop()

    def failed(worker_ctx: Any, result: Any, exc_info: Any) -> bool:
        return exc_info is not None and exc_info[0] is ScannerUnavailable

    with entrypoint_waiter(documents.container, "scan_new_document", callback=failed, timeout=30):
        document = documents.upload("report.pdf", PDF)
    with entrypoint_waiter(documents.container, "scan_new_document", callback=failed, timeout=30):
        pass  # the event came back and failed again
    assert documents.status(document["id"]) == "pending"  # a redelivery later: still no verdict
    with pytest.raises(Conflict, match="quarantined until its virus scan"):
        documents.call("open_document", document_id=document["id"])

    clamd.start()
    assert documents.verdict(document["id"]) == "clean"


def test_a_file_over_stream_max_length_is_never_clean(documents, clamd, quarantines):
    big = b"%PDF-1.7\n%" + b" " * (clamd.stream_max_length + 1024) + b"\n%%EOF\n"

    document = documents.upload("scan.pdf", big)

    assert documents.verdict(document["id"]) == "too_large"
    with pytest.raises(Conflict, match="too large for the virus scanner"):
        documents.call("open_document", document_id=document["id"])
    deadline = time.monotonic() + 15
    while not quarantines and time.monotonic() < deadline:
        time.sleep(0.1)
    assert [event["type"] for event in quarantines] == ["document_too_large_to_scan"]


def test_with_scanning_off_uploads_are_not_scanned_and_can_be_downloaded_at_once(
        start_documents, documents_engine, firm_id, account_id, put_object):
    running = start_documents(clamd_address="")
    container = running.container
    documents = Documents(container, running.config, firm_id, account_id, documents_engine, put_object,
                          uuid.uuid4())

    with entrypoint_waiter(container, "scan_new_document", timeout=15):
        document = documents.upload("report.pdf", PDF)

    assert documents.status(document["id"]) == "not_scanned"
    assert documents.call("open_document", document_id=document["id"])["object_key"]


def test_with_scanning_off_a_new_document_costs_its_scan_handler_no_database_work(
        start_documents, documents_engine, firm_id, account_id, put_object):
    running = start_documents(clamd_address="")
    documents = Documents(running.container, running.config, firm_id, account_id, documents_engine, put_object,
                          uuid.uuid4())
    handled: list[dict] = []

    def ours(worker_ctx: Any, result: Any, exc_info: Any) -> bool:
        event = worker_ctx.args[0]
        if event["firm_id"] == str(firm_id):
            handled.append(event)
        return bool(handled)

    with entrypoint_waiter(running.container, "scan_new_document", callback=ours, timeout=15):
        documents.upload("report.pdf", PDF)

    _, records = messaging
    with Session(documents_engine) as session:
        recorded = session.scalar(select(func.count()).select_from(records).where(
            records.c.consumer == "event:documents.document_created:scan_new_document",
            records.c.message_id == handled[0]["id"]))
    assert recorded == 0  # acknowledged without a transaction: nothing was recorded as handled
