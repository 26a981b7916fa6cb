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


# -- signature requests: their data as documents/signatures.py builds it --------------------------------------


def _signature_request() -> dict[str, Any]:
    from documents.models import SignatureRequest
    from documents.signatures import event_fields
    request = SignatureRequest(id=uuid.uuid4(), firm_id=FIRM, account_id=uuid.uuid4(), document_id=uuid.uuid4(),
                               document_name="engagement.pdf", original_sha256="0" * 64, message="Please sign.",
                               reminders=True, status="pending", signed_document_id=None, created_by=uuid.uuid4())
    return contract.SignatureRequestEventSchema().dump(event_fields(request, [], NOW))


def _signer() -> dict[str, Any]:
    from documents.models import Signer
    from documents.signatures import signer_fields
    return contract.SignerEventSchema().dump(signer_fields(Signer(
        id=uuid.uuid4(), name="Jane Smith", email="jane@home.example", link_id=uuid.uuid4(), expires_at=NOW,
        signed_name="Jane Smith", signed_at=NOW)))


TODAYS_DATA.update({
    "signature_request_created": lambda: {"signature_request": _signature_request()},
    "signer_email_due": lambda: {"signature_request": _signature_request(), "signer": _signer(),
                                 "reason": "reminder", "firm_name": "Acme CPA"},
    "signature_signed": lambda: {"signature_request": _signature_request(), "signer": _signer()},
    "signature_declined": lambda: {"signature_request": _signature_request(), "signer": _signer(),
                                   "reason": "Wrong figures."},
    "signature_request_signed": lambda: {"signature_request": _signature_request()},
    "signature_request_completed": lambda: {"signature_request": _signature_request(), "signed_document": document(),
                                            "signers": [_signer()]},
    "signature_request_canceled": lambda: {"signature_request": _signature_request()},
})


# -- shares and approvals: their data as entrypoints/shares.py and approvals.py build it ----------------------


def _share() -> dict[str, Any]:
    from documents.models import Share
    from shared.contracts.shares import ShareEventSchema
    return ShareEventSchema().dump(Share(id=uuid.uuid4(), account_id=uuid.uuid4(), message=None, status="active",
                                         created_by=uuid.uuid4(), created_at=NOW))


def _share_recipient() -> dict[str, Any]:
    from documents.entrypoints.shares import _recipient_event
    from documents.models import ShareRecipient
    return _recipient_event(ShareRecipient(id=uuid.uuid4(), email="banker@bank.example", link_id=uuid.uuid4(),
                                           expires_at=NOW))


def _approval() -> dict[str, Any]:
    from documents import approvals
    from documents.models import ApprovalRequest
    from shared.contracts.approvals import ApprovalEventSchema
    request = ApprovalRequest(id=uuid.uuid4(), account_id=uuid.uuid4(), document_id=uuid.uuid4(), message="Check it",
                              status="pending", created_by=uuid.uuid4(), created_at=NOW, updated_at=NOW)
    return ApprovalEventSchema().dump(approvals.fields(request, "return.pdf", []))


def _approver() -> dict[str, Any]:
    from documents.models import Approver
    from shared.contracts.approvals import ApproverEventSchema
    return ApproverEventSchema().dump(Approver(id=uuid.uuid4(), email="partner@example.org", status="disapproved",
                                               comment="Wrong year.", decided_at=NOW, decided_through="link",
                                               link_id=uuid.uuid4()))


DOCUMENT_REFS = [{"id": str(uuid.uuid4()), "name": "return.pdf"}]
TODAYS_DATA.update({
    "share_created": lambda: {"share": _share(), "recipients": [_share_recipient()], "documents": DOCUMENT_REFS},
    "share_sent": lambda: {"share": _share(), "recipients": [_share_recipient()], "documents": DOCUMENT_REFS,
                           "firm_name": "Acme CPA", "sender_name": None},
    "share_recipient_updated": lambda: {"share": _share(), "recipient": _share_recipient()},
    "share_recipient_revoked": lambda: {"share": _share(), "recipient": _share_recipient()},
    "share_revoked": lambda: {"share": _share(), "recipients": []},
    "share_opened": lambda: {"share": _share(), "recipient": _share_recipient(), "document": None},
    "share_downloaded": lambda: {"share": _share(), "recipient": _share_recipient(), "documents": DOCUMENT_REFS,
                                 "archive": True},
    "approval_requested": lambda: {"approval_request": _approval(), "approvers": [_approver()]},
    "approver_email_due": lambda: {"approval_request": _approval(), "approver": _approver(), "firm_name": "Acme CPA",
                                   "sender_name": None},
    "approval_decided": lambda: {"approval_request": _approval(), "approver": _approver()},
})


# -- client requests: their data as documents/entrypoints/client_requests.py builds it --------------------


def _client_request() -> dict[str, Any]:
    from documents.models import ClientRequest
    return contract.ClientRequestEventSchema().dump(ClientRequest(
        id=uuid.uuid4(), firm_id=FIRM, account_id=uuid.uuid4(), title="2025 taxes", status="submitted",
        login_required=False, link_id=uuid.uuid4(), created_by=uuid.uuid4(), created_at=NOW, updated_at=NOW,
        submitted_at=NOW, canceled_at=None))


TODAYS_DATA.update({
    "client_request_created": lambda: {"client_request": _client_request()},
    "client_request_sent": lambda: {"client_request": _client_request(), "recipients": ["jane@home.example"],
                                    "firm_name": "Acme CPA", "account_name": "Smith Family", "message": None},
    "client_request_submitted": lambda: {
        "client_request": _client_request(), "answered": 3, "questions": 4, "documents": 1,
        "submitted_by": {"kind": "link", "user_id": None, "name": None, "email": None}},
    "client_request_canceled": lambda: {"client_request": _client_request()},
})


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
