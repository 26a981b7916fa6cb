"""Shares and approvals, the pure parts: a recipient's status, what a zip holds, what counts as a download,
an approval's overall status and decisions, and the contract's validation."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from marshmallow import ValidationError

from documents import approvals, shares
from documents.models import ApprovalRequest, Approver, Document, Share, ShareRecipient
from shared.contracts.approvals import ApprovalCreateSchema, ApprovalDecisionSchema
from shared.contracts.links import page_urls
from shared.contracts.shares import ShareCreateSchema
from shared.errors import Conflict, Gone, ValidationFailed

NOW = datetime.now(UTC)
FIRM = uuid.uuid4()


def a_share(status: str = "active") -> Share:
    return Share(id=uuid.uuid4(), firm_id=FIRM, account_id=uuid.uuid4(), status=status, message=None)


def a_recipient(expires_at: datetime | None = None, revoked_at: datetime | None = None) -> ShareRecipient:
    return ShareRecipient(id=uuid.uuid4(), firm_id=FIRM, email="banker@example.org", expires_at=expires_at,
                          revoked_at=revoked_at, opens=0, downloads=0)


def a_document(name: str, scan_status: str = "clean", content_type: str = "application/pdf") -> Document:
    return Document(id=uuid.uuid4(), firm_id=FIRM, account_id=uuid.uuid4(), name=name, size=10,
                    content_type=content_type, object_key=f"firms/x/{name}", scan_status=scan_status)


# -- shares ------------------------------------------------------------------------------------


def test_a_recipient_is_active_until_his_expiry():
    assert shares.status_of(a_share(), a_recipient(NOW + timedelta(hours=1))) == "active"
    assert shares.status_of(a_share(), a_recipient(NOW - timedelta(seconds=1))) == "expired"
    assert shares.status_of(a_share(), a_recipient(None)) == "active"


def test_a_revoke_wins_over_an_expiry():
    assert shares.status_of(a_share(), a_recipient(NOW - timedelta(days=1), revoked_at=NOW)) == "revoked"
    assert shares.status_of(a_share("revoked"), a_recipient(NOW + timedelta(days=1))) == "revoked"


def test_a_dead_link_is_gone_saying_why():
    with pytest.raises(Gone, match="expired"):
        shares.require_live(a_share(), a_recipient(NOW - timedelta(seconds=1)))
    with pytest.raises(Gone, match="withdrew"):
        shares.require_live(a_share("revoked"), a_recipient())


def test_extending_brings_an_expired_link_back_but_not_a_revoked_one():
    share, recipient = a_share(), a_recipient(NOW - timedelta(seconds=1))
    shares.set_expiry(share, recipient, NOW + timedelta(days=3))
    assert shares.status_of(share, recipient) == "active"
    with pytest.raises(Conflict):
        shares.set_expiry(share, a_recipient(revoked_at=NOW), None)


def test_an_expiry_in_the_past_is_refused():
    with pytest.raises(ValidationFailed) as refused:
        shares.set_expiry(a_share(), a_recipient(), NOW - timedelta(minutes=1))
    assert "expires_at" in refused.value.errors


def test_the_zip_gives_each_member_a_name_of_its_own_and_skips_what_is_not_cleared():
    members = shares.archive_members([a_document("report.pdf"), a_document("Report.pdf"), a_document("notes"),
                                      a_document("notes"), a_document("held.pdf", scan_status="pending")])
    assert [m["name"] for m in members] == ["report.pdf", "Report (2).pdf", "notes", "notes (2)"]


def test_a_download_counts_from_its_first_byte_only():
    assert shares.counts_as_download(None) and shares.counts_as_download(0)
    assert not shares.counts_as_download(1024)


def test_only_pdfs_and_images_are_viewable():
    assert shares.is_viewable(a_document("a.pdf")) and shares.is_viewable(a_document("a.png", content_type="image/png"))
    assert not shares.is_viewable(a_document("a.html", content_type="text/html"))
    assert not shares.is_viewable(a_document("a.svg", content_type="image/svg+xml"))  # an SVG can run script


def test_a_share_never_mixes_accounts():
    first, second = a_document("a.pdf"), a_document("b.pdf")
    with pytest.raises(ValidationFailed):
        shares.one_account([first, second])
    second.account_id = first.account_id
    assert shares.one_account([first, second]) == first.account_id


def test_a_quarantined_document_is_never_shared_but_one_being_scanned_is():
    shares.check_shareable([a_document("a.pdf", scan_status="pending")])
    with pytest.raises(Conflict):
        shares.check_shareable([a_document("a.pdf", scan_status="infected")])


def test_opens_and_downloads_are_counted_apart():
    recipient = a_recipient()
    shares.note_open(recipient)
    first = recipient.opened_at
    shares.note_open(recipient)
    shares.note_download(recipient)
    assert (recipient.opens, recipient.downloads, recipient.opened_at) == (2, 1, first)


def test_the_share_link_is_reusable_retrievable_and_has_no_expiry_of_its_own():
    payload = shares.link_payload(a_recipient(NOW + timedelta(days=1)))
    assert (payload["kind"], payload["single_use"], payload["retrievable"], payload["expires_at"]) == (
        "share", False, True, None)


@pytest.mark.parametrize("body", [
    {"document_ids": [], "recipients": [{"email": "a@example.org"}]},
    {"document_ids": ["00000000-0000-4000-8000-000000000001"] * 2, "recipients": [{"email": "a@example.org"}]},
    {"document_ids": ["00000000-0000-4000-8000-000000000001"],
     "recipients": [{"email": "a@example.org"}, {"email": "A@EXAMPLE.org"}]},
    {"document_ids": ["00000000-0000-4000-8000-000000000001"],
     "recipients": [{"email": "a@example.org", "expires_at": "2030-01-01T00:00:00"}]},
], ids=["no documents", "a document twice", "a recipient twice", "an expiry without a time zone"])
def test_a_share_the_contract_refuses(body):
    with pytest.raises(ValidationError):
        ShareCreateSchema().load(body)


def test_a_share_is_emailed_by_default():
    data = ShareCreateSchema().load({"document_ids": ["00000000-0000-4000-8000-000000000001"],
                                     "recipients": [{"email": "a@example.org"}]})
    assert data["send_email"] is True and data["recipients"][0]["expires_at"] is None


# -- approvals ---------------------------------------------------------------------------------


def approvers_with(*statuses: str) -> list[Approver]:
    return [Approver(id=uuid.uuid4(), email=f"a{n}@example.org", status=status) for n, status in enumerate(statuses)]


def test_approved_once_everyone_approved_disapproved_once_anyone_disapproved():
    assert approvals.overall_status(approvers_with("approved", "pending")) == "pending"
    assert approvals.overall_status(approvers_with("approved", "approved")) == "approved"
    assert approvals.overall_status(approvers_with("pending", "disapproved")) == "disapproved"


def test_a_decision_settles_the_request_when_it_is_the_last_or_a_disapproval():
    request = ApprovalRequest(id=uuid.uuid4(), status="pending")
    group = approvers_with("pending", "pending")
    approvals.decide(request, group[0], group, "approved", None, through="link")
    assert (request.status, request.decided_at) == ("pending", None)
    approvals.decide(request, group[1], group, "disapproved", "  Wrong year. ", through="portal")
    assert request.status == "disapproved" and request.decided_at is not None
    assert (group[1].comment, group[1].decided_through) == ("Wrong year.", "portal")


def test_nobody_decides_twice_nor_after_the_request_is_settled():
    request = ApprovalRequest(id=uuid.uuid4(), status="pending")
    group = approvers_with("pending", "pending")
    approvals.decide(request, group[0], group, "disapproved", "No.", through="link")
    with pytest.raises(Conflict):
        approvals.decide(request, group[0], group, "approved", None, through="link")
    with pytest.raises(Conflict):
        approvals.decide(request, group[1], group, "approved", None, through="link")


def test_the_approval_link_is_reusable_and_retrievable():
    payload = approvals.link_payload(Approver(id=uuid.uuid4(), firm_id=FIRM))
    assert (payload["kind"], payload["single_use"], payload["retrievable"]) == ("approval", False, True)


def test_only_the_links_of_approvers_still_to_decide_on_a_pending_request_are_revealed():
    pending, settled = ApprovalRequest(id=uuid.uuid4(), status="pending"), ApprovalRequest(id=uuid.uuid4(),
                                                                                           status="disapproved")
    mine = approvers_with("pending", "approved", "pending")
    for approver in mine[:2]:
        approver.link_id = uuid.uuid4()  # the third has no link id: nothing to reveal for him
    theirs = approvers_with("pending", "disapproved")
    for approver in theirs:
        approver.link_id = uuid.uuid4()
    assert approvals.links_to_reveal([(pending, mine), (settled, theirs)]) == [str(mine[0].link_id)]


def test_each_approver_gets_the_url_of_his_own_live_link_only():
    request = ApprovalRequest(id=uuid.uuid4(), status="pending")
    live, revoked, none = approvers_with("pending", "pending", "pending")
    live.link_id, revoked.link_id = uuid.uuid4(), uuid.uuid4()
    link_urls = page_urls([{"id": str(live.link_id), "token": "tok-live", "live": True},
                           {"id": str(revoked.link_id), "token": "tok-gone", "live": False}],
                          "https://porta.example")
    fields = approvals.fields(request, "return.pdf", [live, revoked, none], link_urls)
    assert [a["url"] for a in fields["approvers"]] == ["https://porta.example/p/tok-live", None, None]


@pytest.mark.parametrize("comment", [None, "", "   "])
def test_disapproving_without_a_comment_is_refused(comment):
    with pytest.raises(ValidationError) as refused:
        ApprovalDecisionSchema().load({"decision": "disapproved", "comment": comment})
    assert "comment" in refused.value.messages


def test_approving_needs_no_comment():
    assert ApprovalDecisionSchema().load({"decision": "approved"}) == {"decision": "approved", "comment": None}


def test_each_approver_once():
    with pytest.raises(ValidationError):
        ApprovalCreateSchema().load({"emails": ["a@example.org", "A@example.org"]})
