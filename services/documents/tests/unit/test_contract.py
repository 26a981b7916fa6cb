"""The documents contract: every event the service emits is declared, and its schema takes the data the
service builds (dumps of objects in memory here) and nothing else, `firm_id` included (it is in the
envelope)."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from documents.models import Document, FileRequest, Folder
from shared.contracts import documents as contract
from shared.contracts.documents import DocumentSchema, FileRequestEventSchema, FolderSchema
from shared.events import InvalidEvent, declared, envelope

NOW = datetime(2026, 2, 1, 12, 0, tzinfo=UTC)
FIRM = uuid.uuid4()


def folder() -> dict[str, Any]:
    return FolderSchema().dump(Folder(id=uuid.uuid4(), firm_id=FIRM, account_id=uuid.uuid4(), parent_id=uuid.uuid4(),
                                      root=None, name="Receipts", client_access="view_edit", created_at=NOW))


def document() -> dict[str, Any]:
    return DocumentSchema().dump(Document(
        id=uuid.uuid4(), firm_id=FIRM, account_id=uuid.uuid4(), folder_id=uuid.uuid4(), name="receipt.pdf", size=80,
        content_type="application/pdf", sha256="0" * 64, object_key="firms/x/uploads/y/original", source="link",
        uploaded_by_kind="link", uploaded_by_id=None, uploader_name="Jane", uploader_email=None,
        file_request_id=uuid.uuid4(), archive_id=None, scan_status="pending", opened_at=None, created_at=NOW,
        updated_at=NOW))


def file_request() -> dict[str, Any]:
    return FileRequestEventSchema().dump(FileRequest(
        id=uuid.uuid4(), firm_id=FIRM, account_id=uuid.uuid4(), folder_id=uuid.uuid4(), message="Receipts, please.",
        status="open", link_id=uuid.uuid4(), created_by=uuid.uuid4(), created_at=NOW, updated_at=NOW))


UPLOADER = {"name": "Jane Client", "email": "jane@home.example"}

TODAYS_DATA = {
    "folder_created": lambda: {"folder": folder()},
    "document_created": lambda: {"document": document()},
    "document_updated": lambda: {"document": document(), "changed": ["folder_id", "name"]},
    "document_deleted": lambda: {"document": {**document(), "object_key": "firms/x/uploads/y/original"}},
    "document_infected": lambda: {"document": document(), "signature": "Win.Test.EICAR_HDB-1"},
    "document_too_large_to_scan": lambda: {"document": document(), "signature": None},
    "file_request_created": lambda: {"file_request": file_request()},
    "file_request_sent": lambda: {"file_request": file_request(), "recipients": ["jane@home.example"],
                                  "firm_name": "Acme CPA", "account_name": "Smith Family"},
    "file_request_updated": lambda: {"file_request": file_request()},
    "file_request_revoked": lambda: {"file_request": file_request()},
    "file_request_files_received": lambda: {
        "file_request": file_request(), "uploader": {"name": None, "email": None},
        "documents": [{k: document()[k] for k in ("id", "name", "size", "content_type")}], "received_count": 1},
    "file_request_done": lambda: {"file_request": file_request(), "uploader": UPLOADER, "received_count": 3},
    "client_done_uploading": lambda: {"account_id": str(uuid.uuid4()), "account_name": "Smith Family",
                                      "user": {"id": str(uuid.uuid4()), "name": "Jane", "email": "jane@home.example"}},
}


def test_every_event_is_declared_under_its_upper_case_name():
    events = {event.name: event for event in declared("documents")}
    assert set(events) == set(TODAYS_DATA)
    for name, event in events.items():
        assert getattr(contract, name.upper()) is event


@pytest.mark.parametrize("name", sorted(TODAYS_DATA))
def test_todays_data_fits_its_event_in_an_envelope(name):
    event = contract.__dict__[name.upper()]
    body = envelope(event, TODAYS_DATA[name](), firm_id=FIRM, account_id=uuid.uuid4())
    assert (body["source"], body["type"], body["firm_id"]) == ("documents", name, str(FIRM))


@pytest.mark.parametrize("name", sorted(TODAYS_DATA))
def test_firm_id_is_no_part_of_any_events_data(name):
    event = contract.__dict__[name.upper()]
    with pytest.raises(InvalidEvent):
        event.check({**TODAYS_DATA[name](), "firm_id": str(FIRM)})


def test_a_document_with_a_field_the_contract_does_not_name_is_refused():
    with pytest.raises(InvalidEvent):
        contract.DOCUMENT_CREATED.check({"document": {**document(), "object_key": "firms/x/y"}})


def test_a_missing_key_is_refused():
    with pytest.raises(InvalidEvent):
        contract.FILE_REQUEST_DONE.check({"file_request": file_request(), "uploader": UPLOADER})
