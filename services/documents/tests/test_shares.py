"""Shares and approvals on the real, migrated database: what a share holds after a document is deleted, a
recipient's link after his expiry, the approvals the portal lists for an address."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from documents import approvals, library, shares
from documents.models import Approver, ShareRecipient
from shared.errors import Gone, NotFound

STAFF_ID = uuid.UUID("00000000-0000-4000-8000-00000000aaaa")
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


@pytest.fixture
def stored(roots, upload_file):
    """Two documents of the test's account."""
    return [upload_file(roots["private"], name, PDF + name.encode()).documents[0] for name in ("a.pdf", "b.pdf")]


def make_share(db, firm_id, account_id, documents, *recipients):
    data = {"message": " Here you go ", "recipients": [{"email": r, "expires_at": None} for r in recipients]}
    return shares.create(db, firm_id, account_id, documents, STAFF_ID, data)


def test_a_share_keeps_its_documents_in_order_and_one_row_per_recipient(db, firm_id, account_id, stored):
    share = make_share(db, firm_id, account_id, list(reversed(stored)), "Banker@Example.org", "lawyer@example.org")
    assert [d.name for d in shares.documents_of(db, share)] == ["b.pdf", "a.pdf"]
    assert [r.email for r in shares.recipients_of(db, share)] == ["banker@example.org", "lawyer@example.org"]
    assert share.message == "Here you go"


def test_a_deleted_document_drops_out_of_the_share(db, firm_id, account_id, stored):
    share = make_share(db, firm_id, account_id, stored, "banker@example.org")
    library.delete_document(db, stored[0])
    db.expire_all()
    assert [d.name for d in shares.documents_of(db, share)] == ["b.pdf"]
    with pytest.raises(NotFound):
        shares.shared_document(db, share, stored[0].id)


def test_the_link_finds_its_recipient_until_his_expiry(db, firm_id, account_id, stored):
    share = make_share(db, firm_id, account_id, stored, "banker@example.org")
    [recipient] = shares.recipients_of(db, share)
    assert shares.find_linked(db, firm_id, recipient.id) == (share, recipient)
    recipient.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    db.flush()
    with pytest.raises(Gone):
        shares.find_linked(db, firm_id, recipient.id)
    with pytest.raises(NotFound):  # another firm's id for the same row: not found
        shares.find_linked(db, uuid.uuid4(), recipient.id)


def test_documents_of_another_firm_are_not_found(db, firm_id, stored):
    with pytest.raises(NotFound):
        shares.find_documents(db, uuid.uuid4(), [stored[0].id])
    assert shares.find_documents(db, firm_id, [stored[1].id, stored[0].id]) == [stored[1], stored[0]]


def test_revoking_the_share_revokes_every_recipient_once(db, firm_id, account_id, stored):
    share = make_share(db, firm_id, account_id, stored, "banker@example.org", "lawyer@example.org")
    recipients = shares.recipients_of(db, share)
    assert len(shares.revoke(share, recipients)) == 2
    assert shares.revoke(share, recipients) == []
    db.flush()
    assert db.scalars(select(ShareRecipient.revoked_at).where(ShareRecipient.share_id == share.id)).all()[0]


def test_the_portal_lists_only_the_requests_sent_to_that_address(db, firm_id, account_id, stored):
    mine = approvals.create(db, stored[0], STAFF_ID, {"emails": ["Jane@Home.example", "x@example.org"],
                                                      "message": None})
    approvals.create(db, stored[1], STAFF_ID, {"emails": ["x@example.org"], "message": None})
    listed, cursor = approvals.list_for_approver(db, firm_id, account_id, "jane@home.example", 50, None)
    assert ([r.id for r in listed], cursor) == ([mine.id], None)
    assert approvals.approver_by_email(db, mine, "JANE@home.example").email == "jane@home.example"


def test_deleting_the_document_deletes_its_approval_requests(db, firm_id, stored):
    request = approvals.create(db, stored[0], STAFF_ID, {"emails": ["x@example.org"], "message": None})
    [approver_id] = [a.id for a in approvals.approvers_of(db, request)]
    library.delete_document(db, stored[0])
    db.expire_all()
    assert db.scalar(select(Approver).where(Approver.id == approver_id)) is None
    with pytest.raises(NotFound):
        approvals.find_linked(db, firm_id, approver_id)
