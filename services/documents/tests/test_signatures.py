"""Signature requests on the run's real database (documents/signatures.py): the reminder timer's claim with
FOR UPDATE SKIP LOCKED and an injected clock, the sealed copy written once beside an unchanged original, and
a page of requests whose signing links take more than one `reveal_links` call."""
from __future__ import annotations

import hashlib
import io
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from devstack.seal import seal_files
from reportlab.pdfgen import canvas
from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session

from documents import sealing, signatures
from documents.models import Document, Folder, SignatureRequest, Signer
from shared.config import SETTINGS_KEY
from shared.contracts.documents import MAX_SIGNERS
from shared.contracts.links import MAX_REVEAL, RevealLinksSchema
from shared.schemas import schema, validated

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
EVERY = timedelta(days=3)


def letter() -> bytes:
    out = io.BytesIO()
    pdf = canvas.Canvas(out)
    pdf.drawString(72, 720, "Engagement letter")
    pdf.showPage()
    pdf.save()
    return out.getvalue()


@pytest.fixture
def committed(documents_engine: Engine, firm_id: uuid.UUID) -> Iterator[Session]:
    """A session that commits for real; the firm's rows go afterwards."""
    with Session(documents_engine) as session:
        yield session
    with documents_engine.begin() as connection:
        for table in (Signer, SignatureRequest, Document, Folder):
            connection.execute(delete(table).where(table.firm_id == firm_id))


def make_request(session: Session, document: Document, *emails: str) -> tuple[SignatureRequest, list[Signer]]:
    data = {"signers": [{"name": e.split("@")[0], "email": e} for e in emails], "message": "", "reminders": True}
    return signatures.create(session, document, uuid.uuid4(), data, now=NOW, reminder_every=EVERY)


@pytest.fixture
def pdf_document(committed: Session, store, firm_id: uuid.UUID, account_id: uuid.UUID) -> Document:
    """A PDF of the account, its bytes in the store, committed."""
    from documents import folders

    root = folders.ensure_roots(committed, firm_id, account_id)["client"]
    data = letter()
    key = f"firms/{firm_id}/uploads/{uuid.uuid4()}/original"
    store.put_stream(key, io.BytesIO(data), max_bytes=len(data) + 1, content_type="application/pdf")
    document = Document(id=uuid.uuid4(), firm_id=firm_id, account_id=account_id, folder_id=root.id,
                        name="letter.pdf", size=len(data), content_type="application/pdf",
                        sha256=hashlib.sha256(data).hexdigest(), object_key=key, source="staff",
                        uploaded_by_kind="staff", scan_status="not_scanned")
    committed.add(document)
    committed.commit()
    return document


def test_reminders_are_due_only_once_the_clock_passes_them(committed, pdf_document):
    request, signers = make_request(committed, pdf_document, "a@x.example")
    committed.commit()
    assert signatures.claim_due_reminders(committed, NOW + EVERY - timedelta(seconds=1), EVERY) == []
    [(claimed_request, claimed)] = signatures.claim_due_reminders(committed, NOW + EVERY, EVERY)
    assert (claimed_request.id, claimed.id, claimed.reminders_sent) == (request.id, signers[0].id, 1)
    assert claimed.next_reminder_at == NOW + 2 * EVERY  # day 6: still before the link runs out on day 7
    committed.commit()
    [(_, again)] = signatures.claim_due_reminders(committed, NOW + 2 * EVERY, EVERY)
    assert again.reminders_sent == 2 and again.next_reminder_at is None  # day 9 would be after day 7
    committed.commit()


def test_two_timers_claiming_at_once_never_take_the_same_signer(committed, pdf_document, documents_engine):
    make_request(committed, pdf_document, "a@x.example", "b@x.example", "c@x.example")
    committed.commit()
    with Session(documents_engine) as first, Session(documents_engine) as second:
        taken_first = signatures.claim_due_reminders(first, NOW + EVERY, EVERY, limit=2)
        taken_second = signatures.claim_due_reminders(second, NOW + EVERY, EVERY, limit=10)  # SKIP LOCKED
        ids_first = {signer.id for _, signer in taken_first}
        ids_second = {signer.id for _, signer in taken_second}
        assert len(ids_first) == 2 and len(ids_second) == 1 and not ids_first & ids_second
        first.commit()
        second.commit()
    committed.expire_all()
    assert signatures.claim_due_reminders(committed, NOW + EVERY, EVERY) == []  # all moved on to day 6
    committed.rollback()


def test_signed_and_closed_requests_are_not_reminded(committed, pdf_document):
    request, signers = make_request(committed, pdf_document, "a@x.example", "b@x.example")
    signatures.sign(request, signers, signers[0], name="A", address="10.0.0.1", user_agent="UA", through="link",
                    user_id=None, now=NOW)
    committed.commit()
    assert [s.email for _, s in signatures.claim_due_reminders(committed, NOW + EVERY, EVERY)] == ["b@x.example"]
    signatures.cancel(request, signers, NOW + EVERY)
    committed.commit()
    assert signatures.claim_due_reminders(committed, NOW + 2 * EVERY, EVERY) == []


def test_the_sealed_copy_is_written_once_beside_the_unchanged_original(committed, pdf_document, store, tmp_path):
    key_file, cert_file = seal_files(tmp_path)
    seal = sealing.Seal.load(str(key_file), str(cert_file))
    request, signers = make_request(committed, pdf_document, "a@x.example")
    signatures.sign(request, signers, signers[0], name="Ann", address="10.0.0.1", user_agent="UA", through="link",
                    user_id=None, now=NOW)
    original = store.read_range(pdf_document.object_key, 0, pdf_document.size)
    sealed = signatures.seal(committed, store, request, seal, firm_name="Acme CPA", now=NOW, scan_status="clean")
    assert sealed is not None and request.signed_document_id == sealed.document.id
    assert sealed.document.folder_id == pdf_document.folder_id and sealed.document.name == "letter (signed).pdf"
    assert signatures.seal(committed, store, request, seal, firm_name="Acme CPA", now=NOW,
                           scan_status="clean") is None  # again: nothing more
    committed.commit()
    copies = committed.scalars(select(Document).where(Document.object_key == signatures.sealed_key(request))).all()
    assert len(copies) == 1
    assert store.read_range(pdf_document.object_key, 0, pdf_document.size) == original
    data = store.read_range(copies[0].object_key, 0, copies[0].size)
    assert sealing.verify(data, seal) == sealing.Verification(sealed=True, intact=True, sealed_at=NOW)
    assert signatures.find_sealed(committed, hashlib.sha256(data).hexdigest())[0].id == request.id
    store.remove(copies[0].object_key)


def test_a_signers_link_id_is_kept_on_his_row(committed, pdf_document):
    _, [signer] = make_request(committed, pdf_document, "a@x.example")
    link_id = uuid.uuid4()
    signer.link_id = link_id
    committed.commit()
    committed.expire_all()
    assert committed.scalar(select(Signer.link_id).where(Signer.id == signer.id)) == link_id


def test_a_full_page_of_requests_shows_every_signers_url_though_links_reveals_1000_per_call(
        documents, committed, pdf_document):
    """A page of 200 requests of 20 signers names 4,000 links; 51 requests are enough to pass MAX_REVEAL."""
    requests = 1 + MAX_REVEAL // MAX_SIGNERS
    link_ids = []
    for _ in range(requests):
        _, signers = signatures.create(committed, pdf_document, uuid.uuid4(), {
            "signers": [{"name": f"S{i}", "email": f"s{i}@x.example"} for i in range(MAX_SIGNERS)],
            "message": "", "reminders": False}, now=datetime.now(UTC), reminder_every=EVERY)
        for signer in signers:
            signer.link_id = uuid.uuid4()
            link_ids.append(str(signer.link_id))
    committed.commit()
    asked: list[int] = []

    def reveal_links(firm_id: str, link_ids: list[str]) -> dict:
        validated(schema(RevealLinksSchema), {"firm_id": firm_id, "link_ids": link_ids})  # 422 past MAX_REVEAL
        asked.append(len(link_ids))
        return {"items": [{"id": i, "token": f"token-{i}", "live": True} for i in link_ids]}

    documents.links.reveal_links.side_effect = reveal_links
    page = documents.call("list_signature_requests", uuid.uuid4(), account_id=str(documents.account_id),
                          query={"limit": 200})  # the largest page
    base_url = documents.config[SETTINGS_KEY].base_url
    assert sorted(signer["url"] for request in page["items"] for signer in request["signers"]) == sorted(
        f"{base_url}/p/token-{link_id}" for link_id in link_ids)
    assert sorted(asked) == [len(link_ids) - MAX_REVEAL, MAX_REVEAL]
