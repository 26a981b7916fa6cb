"""Signature requests' rules (documents/signatures.py) on rows in memory: statuses, signing, declining,
canceling, resending and when a signer is reminded. No database: the clock is passed in."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from documents import signatures
from documents.models import Document, SignatureRequest, Signer
from shared.contracts.links import page_urls
from shared.errors import Conflict, Gone, PayloadTooLarge, UnsupportedMediaType

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
EVERY = timedelta(days=3)


def request_with(*emails: str, reminders: bool = True) -> tuple[SignatureRequest, list[Signer]]:
    request = SignatureRequest(id=uuid.uuid4(), firm_id=uuid.uuid4(), account_id=uuid.uuid4(),
                               document_id=uuid.uuid4(), document_name="engagement.pdf", original_sha256="0" * 64,
                               message="", reminders=reminders, status="pending", created_at=NOW, updated_at=NOW)
    signers = [Signer(id=uuid.uuid4(), firm_id=request.firm_id, signature_request_id=request.id, position=i,
                      name=email.split("@")[0], email=email, status="pending", reminders_sent=0,
                      expires_at=NOW + signatures.LINK_LIFETIME, next_reminder_at=NOW + EVERY)
               for i, email in enumerate(emails)]
    return request, signers


def sign(request, signers, signer, at=NOW):
    return signatures.sign(request, signers, signer, name="  Jane   Smith ", address="203.0.113.7",
                           user_agent="Mozilla/5.0", through="link", user_id=None, now=at)


def test_a_link_is_valid_seven_days():
    assert signatures.LINK_LIFETIME == timedelta(days=7)


def test_only_the_last_signature_completes_the_request():
    request, signers = request_with("a@x.example", "b@x.example")
    assert sign(request, signers, signers[0]) is False
    assert request.status == "pending" and request.completed_at is None
    assert sign(request, signers, signers[1]) is True
    assert request.status == "signed" and request.completed_at == NOW


def test_a_signature_keeps_its_evidence():
    request, signers = request_with("a@x.example")
    sign(request, signers, signers[0])
    signer = signers[0]
    assert (signer.signed_name, signer.signed_at, signer.signed_address, signer.signed_user_agent,
            signer.signed_through) == ("Jane Smith", NOW, "203.0.113.7", "Mozilla/5.0", "link")
    assert signer.next_reminder_at is None


def test_signing_twice_is_a_conflict():
    request, signers = request_with("a@x.example", "b@x.example")
    sign(request, signers, signers[0])
    with pytest.raises(Conflict):
        sign(request, signers, signers[0])


def test_a_link_past_its_seven_days_is_gone_and_the_request_reads_expired():
    request, signers = request_with("a@x.example", "b@x.example")
    later = NOW + signatures.LINK_LIFETIME + timedelta(seconds=1)
    with pytest.raises(Gone, match="expired"):
        sign(request, signers, signers[0], at=later)
    assert signatures.status_of(request, signers, later) == "expired"
    assert signatures.signer_status(request, signers[0], later) == "expired"


def test_a_resend_gives_seven_fresh_days_and_revives_an_expired_request():
    request, signers = request_with("a@x.example")
    later = NOW + timedelta(days=8)
    signatures.resend(request, signers[0], now=later, reminder_every=EVERY)
    assert signers[0].expires_at == later + timedelta(days=7)
    assert signatures.status_of(request, signers, later) == "pending"
    assert signers[0].next_reminder_at == later + EVERY


def test_declining_declines_the_request_and_closes_every_link():
    request, signers = request_with("a@x.example", "b@x.example")
    signatures.decline(request, signers, signers[0], reason=" Wrong figures ", now=NOW)
    assert request.status == "declined" and signers[0].decline_reason == "Wrong figures"
    assert all(s.next_reminder_at is None for s in signers)
    with pytest.raises(Gone, match="declined"):
        signatures.require_open_for(request, signers[1], NOW)


def test_cancel_is_once_and_not_after_signing():
    request, signers = request_with("a@x.example")
    assert signatures.cancel(request, signers, NOW) is True
    assert signatures.cancel(request, signers, NOW) is False
    assert signatures.signer_status(request, signers[0], NOW) == "canceled"
    with pytest.raises(Gone, match="canceled"):
        signatures.require_open_for(request, signers[0], NOW)
    done, done_signers = request_with("a@x.example")
    sign(done, done_signers, done_signers[0])
    with pytest.raises(Conflict):
        signatures.cancel(done, done_signers, NOW)


def test_a_signer_who_signed_cannot_be_sent_again():
    request, signers = request_with("a@x.example", "b@x.example")
    sign(request, signers, signers[0])
    with pytest.raises(Conflict):
        signatures.resend(request, signers[0], now=NOW, reminder_every=EVERY)


def test_no_reminder_falls_after_the_link_runs_out_nor_without_reminders():
    request, _ = request_with("a@x.example")
    expires = NOW + timedelta(days=7)
    assert signatures._next_reminder(request, NOW, expires, EVERY) == NOW + EVERY
    assert signatures._next_reminder(request, NOW + timedelta(days=5), expires, EVERY) is None
    assert signatures._next_reminder(request, NOW, expires, timedelta(0)) is None
    quiet, _ = request_with("a@x.example", reminders=False)
    assert signatures._next_reminder(quiet, NOW, expires, EVERY) is None


@pytest.mark.parametrize(("content_type", "scan", "size", "error"), [
    ("image/png", "clean", 10, UnsupportedMediaType), ("application/pdf", "pending", 10, Conflict),
    ("application/pdf", "infected", 10, Conflict), ("application/pdf", "clean", 60 * 2**20, PayloadTooLarge)])
def test_only_a_pdf_that_is_not_quarantined_nor_huge_can_be_sent(content_type, scan, size, error):
    document = Document(content_type=content_type, scan_status=scan, size=size)
    with pytest.raises(error):
        signatures.require_signable(document)


def test_the_sealed_copy_is_named_after_the_original():
    assert signatures.sealed_name("Engagement 2026.PDF") == "Engagement 2026 (signed).pdf"
    assert signatures.sealed_name("letter") == "letter (signed).pdf"


# -- each signer's link: issued retrievable here, shown as his url while he may still use it --------------


def test_a_signers_link_is_a_retrievable_signature_link_that_replaces_his_old_one_and_ends_with_his_days():
    request, signers = request_with("a@x.example")
    payload = signatures.link_payload(signers[0])
    assert payload == {"firm_id": str(request.firm_id), "kind": "signature",
                       "target": {"type": "signer", "id": str(signers[0].id)},
                       "expires_at": (NOW + timedelta(days=7)).isoformat(), "single_use": False, "replace": True,
                       "retrievable": True}


def revealed(*signers: Signer, live: bool = True) -> list[dict]:
    return [{"id": str(s.link_id), "token": f"token-{s.email}", "live": live} for s in signers]


def with_links(*emails: str) -> tuple[SignatureRequest, list[Signer]]:
    request, signers = request_with(*emails)
    for signer in signers:
        signer.link_id = uuid.uuid4()
    return request, signers


def test_each_pending_signer_shows_his_live_link_as_his_url():
    request, signers = with_links("a@x.example", "b@x.example")
    assert signatures.links_to_reveal([(request, signers)]) == [str(s.link_id) for s in signers]
    urls = page_urls(revealed(*signers), "https://porta.example")
    fields = signatures.as_fields(request, signers, NOW, urls)
    assert [s["url"] for s in fields["signers"]] == ["https://porta.example/p/token-a@x.example",
                                                     "https://porta.example/p/token-b@x.example"]


def test_a_link_that_is_not_live_shows_no_url():
    request, signers = with_links("a@x.example")
    urls = page_urls(revealed(*signers, live=False), "https://porta.example")
    assert signatures.as_fields(request, signers, NOW, urls)["signers"][0]["url"] is None


def test_a_writes_answer_holds_no_url():
    request, signers = with_links("a@x.example")
    assert signatures.as_fields(request, signers, NOW)["signers"][0]["url"] is None


def test_a_signer_who_acted_or_whose_request_closed_or_whose_days_ran_out_has_no_url():
    request, signers = with_links("a@x.example", "b@x.example")
    sign(request, signers, signers[0])
    assert signatures.links_to_reveal([(request, signers)]) == [str(signers[1].link_id)]
    urls = page_urls(revealed(*signers), "https://porta.example")
    assert signatures.as_fields(request, signers, NOW, urls)["signers"][0]["url"] is None
    later = NOW + signatures.LINK_LIFETIME + timedelta(seconds=1)
    assert signatures.as_fields(request, signers, later, urls)["signers"][1]["url"] is None
    signatures.cancel(request, signers, NOW)
    assert signatures.links_to_reveal([(request, signers)]) == []
    assert [s["url"] for s in signatures.as_fields(request, signers, NOW, urls)["signers"]] == [None, None]
