"""Signature requests: a PDF, its signers, their links, their signatures, and the sealed copy.

A staff member asks one or more people (portal users of the account or any address) to sign a PDF
document. Each signer gets a link (links kind `signature`, target his row `{"type": "signer"}`), valid
SIGNING_LINK_DAYS, issued here `retrievable` so the request's answers show it as his `url` (like a file
request's) and kept on his row (`link_id`); the notifications service reveals that same link for his
emails (docs/signatures.md). A resend issues a new one (`replace`: the old one stops at once) and
starts his seven days again.

He signs by typing his name and ticking an explicit consent (or declines, saying why); what he typed,
when, from which address and with which user agent is kept as evidence. When the last one signs the
request is `signed` and `signature_request_signed` is emitted; its handler writes the sealed copy
(`seal`: original pages + evidence page + PAdES seal, documents/sealing.py) as a new document beside
the original, which stays unchanged. That handler runs once per event and finds the request locked
and already sealed on any later delivery, so there is never a second sealed document.

Every public call resolves the link through the links service and then checks the request here, so a
canceled, declined or expired request stops its links at once (410), whatever links has heard yet.

Plain Python over a SQLAlchemy session and the object store; the caller commits. `now` is passed in.
"""
from __future__ import annotations

import hashlib
import io
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, select
from sqlalchemy.orm import Session as DbSession

from documents import filetypes, sealing
from documents.models import Document, SignatureRequest, Signer
from shared.contracts.documents import SIGNING_LINK_DAYS
from shared.errors import Conflict, Gone, NotFound, PayloadTooLarge, UnsupportedMediaType
from shared.paging import newest_first
from shared.storage import ObjectStore

# What an unknown request, another firm's, or one on an account hidden from the caller answers alike.
NO_SUCH_REQUEST = "No such signature request."
NO_SUCH_SIGNER = "No such signer."
LINK_LIFETIME = timedelta(days=SIGNING_LINK_DAYS)
PDF_TYPE = "application/pdf"
# The PDF is read whole, to check it now and to seal it later: larger ones are refused up front.
MAX_SIGNABLE_BYTES = 50 * 1024 * 1024
# Quarantined files (documents/library.py) cannot be sent for signature: nobody could open them.
NOT_SIGNABLE_SCANS = {"pending": "This file is quarantined until its virus scan clears it.",
                      "infected": "This file failed its virus scan.",
                      "too_large": "This file is too large for the virus scanner, so it stays quarantined."}
# How the link page answers once the request is closed.
CLOSED = {"canceled": "This signature request was canceled.",
          "declined": "This signature request was declined, so it cannot be signed any more."}


def link_target(signer: Signer | uuid.UUID) -> dict[str, str]:
    """The links-service target of a signer's link."""
    return {"type": "signer", "id": str(signer.id if isinstance(signer, Signer) else signer)}


def link_payload(signer: Signer) -> dict[str, Any]:
    """What the links service issues for a signer: reusable until he acts, retrievable (staff copy it from
    the request), expiring with his seven days; `replace`: any earlier link of his stops."""
    return {"firm_id": str(signer.firm_id), "kind": "signature", "target": link_target(signer),
            "expires_at": signer.expires_at.isoformat(), "single_use": False, "replace": True, "retrievable": True}


def links_to_reveal(pairs: Iterable[tuple[SignatureRequest, Iterable[Signer]]]) -> list[str]:
    """The links whose url staff may copy: those of signers still to act on a pending request."""
    return [str(signer.link_id) for request, signers in pairs if request.status == "pending"
            for signer in signers if signer.link_id is not None and signer.status == "pending"]


# -- making one -----------------------------------------------------------------------------------------


def require_signable(document: Document) -> None:
    """Only a PDF (sniffed at upload, not its name) that is not quarantined and not huge."""
    if document.content_type != PDF_TYPE:
        raise UnsupportedMediaType("Only a PDF document can be sent for signature.")
    if document.scan_status in NOT_SIGNABLE_SCANS:
        raise Conflict(NOT_SIGNABLE_SCANS[document.scan_status])
    if document.size > MAX_SIGNABLE_BYTES:
        raise PayloadTooLarge(f"A PDF to sign may be at most {MAX_SIGNABLE_BYTES // (1024 * 1024)} MB.")


def read_pdf(store: ObjectStore, document: Document) -> bytes:
    """The document's bytes, checked against the digest its row keeps."""
    download = store.open(document.object_key)
    try:
        data = b"".join(download.chunks)
    finally:
        download.close()
    if hashlib.sha256(data).hexdigest() != document.sha256:
        raise Conflict("The stored file does not match its digest; it cannot be signed.")
    return data


def create(db: DbSession, document: Document, created_by: uuid.UUID | None, data: Mapping[str, Any], *,
           now: datetime, reminder_every: timedelta) -> tuple[SignatureRequest, list[Signer]]:
    """A pending request on `document` (checked signable by the caller) and its signers, in the order given."""
    request = SignatureRequest(id=uuid.uuid4(), firm_id=document.firm_id, account_id=document.account_id,
                               document_id=document.id, document_name=document.name,
                               original_sha256=document.sha256, message=data["message"].strip(),
                               reminders=data["reminders"], status="pending", created_by=created_by,
                               created_at=now, updated_at=now)
    db.add(request)
    signers = [Signer(id=uuid.uuid4(), firm_id=request.firm_id, signature_request_id=request.id, position=position,
                      name=" ".join(item["name"].split()), email=item["email"].strip().lower(), status="pending",
                      expires_at=now + LINK_LIFETIME, reminders_sent=0, created_at=now, updated_at=now,
                      next_reminder_at=_next_reminder(request, now, now + LINK_LIFETIME, reminder_every))
               for position, item in enumerate(data["signers"])]
    db.add_all(signers)
    db.flush()
    return request, signers


def _next_reminder(request: SignatureRequest, now: datetime, expires_at: datetime,
                   every: timedelta) -> datetime | None:
    """When a pending signer is next reminded: `every` from now, unless his link runs out first (or the
    request asks for no reminders)."""
    if not request.reminders or every <= timedelta(0):
        return None
    due = now + every
    return due if due < expires_at else None


# -- finding and showing ----------------------------------------------------------------------------------


def find(db: DbSession, firm_id: uuid.UUID, request_id: uuid.UUID, *, lock: bool = False) -> SignatureRequest:
    query = select(SignatureRequest).where(SignatureRequest.firm_id == firm_id, SignatureRequest.id == request_id)
    request = db.scalar(query.with_for_update() if lock else query)
    if request is None:
        raise NotFound(NO_SUCH_REQUEST)
    return request


def signers_of(db: DbSession, request: SignatureRequest, *, lock: bool = False) -> list[Signer]:
    query = (select(Signer).where(Signer.firm_id == request.firm_id, Signer.signature_request_id == request.id)
             .order_by(Signer.position))
    return list(db.scalars(query.with_for_update() if lock else query))


def signer_in(signers: Iterable[Signer], signer_id: uuid.UUID) -> Signer:
    found = next((signer for signer in signers if signer.id == signer_id), None)
    if found is None:
        raise NotFound(NO_SUCH_SIGNER)
    return found


def list_for_account(db: DbSession, firm_id: uuid.UUID, account_id: uuid.UUID, limit: int,
                     cursor: str | None) -> tuple[list[SignatureRequest], str | None]:
    query = select(SignatureRequest).where(SignatureRequest.firm_id == firm_id,
                                           SignatureRequest.account_id == account_id)
    return newest_first(db, query, SignatureRequest, limit, cursor)


def list_for_signer(db: DbSession, firm_id: uuid.UUID, account_id: uuid.UUID, email: str, limit: int,
                    cursor: str | None) -> tuple[list[SignatureRequest], str | None]:
    """The account's requests that `email` is a signer of (what the portal shows its user)."""
    query = select(SignatureRequest).where(
        SignatureRequest.firm_id == firm_id, SignatureRequest.account_id == account_id,
        exists().where(and_(Signer.signature_request_id == SignatureRequest.id, Signer.firm_id == firm_id,
                            Signer.email == email.strip().lower())))
    return newest_first(db, query, SignatureRequest, limit, cursor)


def signers_by_request(db: DbSession, requests: list[SignatureRequest]) -> dict[uuid.UUID, list[Signer]]:
    """Every signer of these requests, in order, in one query."""
    found: dict[uuid.UUID, list[Signer]] = {request.id: [] for request in requests}
    if requests:
        query = (select(Signer).where(Signer.signature_request_id.in_(list(found)))
                 .order_by(Signer.signature_request_id, Signer.position))
        for signer in db.scalars(query):
            found[signer.signature_request_id].append(signer)
    return found


def link_expired(signer: Signer, now: datetime) -> bool:
    return signer.status == "pending" and signer.expires_at <= now


def status_of(request: SignatureRequest, signers: Iterable[Signer], now: datetime) -> str:
    """The request's status: its stored one, or `expired` while a pending signer's link has run out."""
    if request.status == "pending" and any(link_expired(signer, now) for signer in signers):
        return "expired"
    return request.status


def signer_status(request: SignatureRequest, signer: Signer, now: datetime) -> str:
    if signer.status != "pending":
        return signer.status
    if request.status == "canceled":
        return "canceled"
    return "expired" if link_expired(signer, now) else "pending"


def as_fields(request: SignatureRequest, signers: list[Signer], now: datetime,
              urls: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The request as SignatureRequestSchema dumps it; each signer's `url` from `urls` (link id -> url,
    shared.contracts.links.live_page_urls), null when his link is not live or was not revealed (a write's
    stored reply)."""
    shown = urls or {}
    return {**{column.key: getattr(request, column.key) for column in SignatureRequest.__table__.columns},
            "status": status_of(request, signers, now),
            "signers": [{**{column.key: getattr(signer, column.key) for column in Signer.__table__.columns},
                         "status": signer_status(request, signer, now),
                         "url": shown.get(str(signer.link_id)) if signer_status(request, signer, now) == "pending"
                         else None}
                        for signer in signers]}


def event_fields(request: SignatureRequest, signers: list[Signer], now: datetime) -> dict[str, Any]:
    """The request as events carry it (SignatureRequestEventSchema)."""
    return {"id": request.id, "account_id": request.account_id, "document_id": request.document_id,
            "document_name": request.document_name, "status": status_of(request, signers, now),
            "message": request.message, "signers_count": len(signers),
            "signed_document_id": request.signed_document_id, "created_by": request.created_by}


def signer_fields(signer: Signer) -> dict[str, Any]:
    """A signer as events carry him (SignerEventSchema)."""
    return {"id": signer.id, "name": signer.name, "email": signer.email, "link_id": signer.link_id,
            "expires_at": signer.expires_at,
            "signed_name": signer.signed_name, "signed_at": signer.signed_at}


def public_fields(request: SignatureRequest, signers: list[Signer], signer: Signer, document_size: int,
                  now: datetime) -> dict[str, Any]:
    """What the signing page shows its signer (PublicSignatureRequestSchema): never the others' addresses."""
    return {"message": request.message, "document_name": request.document_name, "document_size": document_size,
            "status": status_of(request, signers, now), "expires_at": signer.expires_at,
            "signer": {"name": signer.name, "email": signer.email, "status": signer_status(request, signer, now),
                       "signed_at": signer.signed_at, "signed_name": signer.signed_name},
            "signers_count": len(signers), "signed_count": sum(1 for s in signers if s.status == "signed")}


def portal_fields(request: SignatureRequest, signers: list[Signer], email: str, now: datetime) -> dict[str, Any]:
    mine = next(signer for signer in signers if signer.email == email.strip().lower())
    return {"id": request.id, "document_id": request.document_id, "document_name": request.document_name,
            "status": status_of(request, signers, now), "message": request.message,
            "signed_document_id": request.signed_document_id, "created_at": request.created_at,
            "signer": {"name": mine.name, "email": mine.email, "status": signer_status(request, mine, now),
                       "signed_at": mine.signed_at, "signed_name": mine.signed_name}}


# -- the signer's side ------------------------------------------------------------------------------------


def find_signer(db: DbSession, firm_id: uuid.UUID, signer_id: uuid.UUID, *,
                lock: bool = False) -> tuple[SignatureRequest, list[Signer], Signer]:
    """The request a signer's link stands for, its signers and him. Locking takes the request's row
    first, then its signers', in the same order every writer uses (no deadlock between two signers)."""
    signer = db.scalar(select(Signer).where(Signer.firm_id == firm_id, Signer.id == signer_id))
    if signer is None:
        raise NotFound(NO_SUCH_SIGNER)
    request = find(db, firm_id, signer.signature_request_id, lock=lock)
    signers = signers_of(db, request, lock=lock)
    return request, signers, signer_in(signers, signer_id)


def require_open_for(request: SignatureRequest, signer: Signer, now: datetime) -> None:
    """What a signer's link may still show: 410 once the request is canceled or declined, or his own
    link has run out while he has not acted. A signer who signed still sees his page (it says so)."""
    if request.status in CLOSED:
        raise Gone(CLOSED[request.status])
    if link_expired(signer, now):
        raise Gone("This signing link has expired. Ask the firm to send you a new one.")


def _require_pending(request: SignatureRequest, signer: Signer, now: datetime) -> None:
    require_open_for(request, signer, now)
    if signer.status == "signed":
        raise Conflict("You have signed this document already.")
    if signer.status == "declined":
        raise Conflict("You declined to sign this document.")


def sign(request: SignatureRequest, signers: list[Signer], signer: Signer, *, name: str, address: str | None,
         user_agent: str | None, through: str, user_id: uuid.UUID | None, now: datetime) -> bool:
    """Record his signature and its evidence (rows locked by the caller). True when he was the last."""
    _require_pending(request, signer, now)
    signer.status, signer.signed_at, signer.signed_name = "signed", now, " ".join(name.split())
    signer.signed_address = _printable(address)[:64] or None
    signer.signed_user_agent = _printable(user_agent)[:1000] or None
    signer.signed_through, signer.signed_by = through, user_id
    signer.next_reminder_at, signer.updated_at = None, now
    request.updated_at = now
    if all(s.status == "signed" for s in signers):
        request.status, request.completed_at = "signed", now
        return True
    return False


def _printable(text: str | None) -> str:
    """Header text as evidence: control characters (a NUL PostgreSQL refuses) dropped."""
    return "".join(ch for ch in (text or "") if ch >= " " and ch != "\x7f").strip()


def decline(request: SignatureRequest, signers: list[Signer], signer: Signer, *, reason: str,
            now: datetime) -> None:
    """He declines: the whole request is declined, and nobody is reminded any more."""
    _require_pending(request, signer, now)
    signer.status, signer.declined_at, signer.decline_reason = "declined", now, reason.strip()
    signer.updated_at = request.updated_at = now
    request.status = "declined"
    for other in signers:
        other.next_reminder_at = None


# -- the firm's side ------------------------------------------------------------------------------------


def cancel(request: SignatureRequest, signers: list[Signer], now: datetime) -> bool:
    """True when this call canceled it (again: nothing changes). A signed or declined one is final: 409."""
    if request.status == "canceled":
        return False
    if request.status != "pending":
        raise Conflict(f"A {request.status} request cannot be canceled.")
    request.status, request.canceled_at, request.updated_at = "canceled", now, now
    for signer in signers:
        signer.next_reminder_at = None
    return True


def resend(request: SignatureRequest, signer: Signer, *, now: datetime, reminder_every: timedelta) -> None:
    """A fresh seven days for a signer who has not acted (also once his link ran out: the request is
    pending again); the caller issues his new link (`link_payload`: the old one stops) and emits the email."""
    if request.status != "pending":
        raise Conflict(f"A {request.status} request cannot be sent again.")
    if signer.status != "pending":
        raise Conflict(f"This signer has {signer.status} already.")
    signer.expires_at = now + LINK_LIFETIME
    signer.next_reminder_at = _next_reminder(request, now, signer.expires_at, reminder_every)
    signer.updated_at = request.updated_at = now


def claim_due_reminders(db: DbSession, now: datetime, every: timedelta,
                        limit: int = 100) -> list[tuple[SignatureRequest, Signer]]:
    """Pending signers whose reminder is due, claimed with FOR UPDATE SKIP LOCKED (another instance's
    timer takes other rows), each moved to his next reminder (or none once his link would have run out).
    Only signers of pending requests whose links still work are reminded."""
    query = (select(Signer, SignatureRequest)
             .join(SignatureRequest, and_(SignatureRequest.firm_id == Signer.firm_id,
                                          SignatureRequest.id == Signer.signature_request_id))
             .where(Signer.next_reminder_at <= now, Signer.status == "pending", SignatureRequest.status == "pending",
                    Signer.expires_at > now)
             .order_by(Signer.next_reminder_at).limit(limit)
             .with_for_update(of=Signer, skip_locked=True))
    claimed = [(request, signer) for signer, request in db.execute(query).all()]
    for request, signer in claimed:
        signer.reminders_sent += 1
        signer.next_reminder_at = _next_reminder(request, now, signer.expires_at, every)
    db.flush()
    return claimed


def clear_stale_reminders(db: DbSession, now: datetime) -> None:
    """Signers who will never be reminded (link run out, request closed) stop being looked at."""
    stale = select(Signer).where(Signer.next_reminder_at <= now, Signer.expires_at <= now).limit(500)
    for signer in db.scalars(stale.with_for_update(skip_locked=True)):
        signer.next_reminder_at = None


# -- the sealed copy ---------------------------------------------------------------------------------------


def sealed_name(original: str) -> str:
    stem = original[:-4] if original.lower().endswith(".pdf") else original
    return filetypes.sanitize_filename(f"{stem[:230]} (signed).pdf")


def sealed_key(request: SignatureRequest) -> str:
    """One key per request: a second sealing (a redelivery that got this far) overwrites, never adds."""
    return f"firms/{request.firm_id}/signatures/{request.id}/sealed.pdf"


def evidence_of(request: SignatureRequest, signers: list[Signer], firm_name: str,
                sealed_at: datetime) -> sealing.Evidence:
    return sealing.Evidence(
        request_id=str(request.id), firm_name=firm_name, document_name=request.document_name,
        original_sha256=request.original_sha256, sealed_at=sealed_at,
        signers=[sealing.SignerEvidence(name=s.signed_name or s.name, email=s.email, signed_at=s.signed_at,
                                        address=s.signed_address or "", user_agent=s.signed_user_agent or "",
                                        through=s.signed_through or "link")
                 for s in signers if s.signed_at is not None])


@dataclass(frozen=True)
class Sealed:
    document: Document
    signers: list[Signer]


def seal(db: DbSession, store: ObjectStore, request: SignatureRequest, seal_: sealing.Seal, *, firm_name: str,
         now: datetime, scan_status: str) -> Sealed | None:
    """Write the sealed copy of a signed request (locked by the caller) beside its original, once: None
    when it has one already or is not signed. The original's bytes are read, never written."""
    if request.status != "signed" or request.signed_document_id is not None:
        return None
    original = db.scalar(select(Document).where(Document.firm_id == request.firm_id,
                                                Document.id == request.document_id))
    if original is None:
        raise NotFound("The document to seal is gone.")
    signers = signers_of(db, request)
    data = read_pdf(store, original)
    if hashlib.sha256(data).hexdigest() != request.original_sha256:
        raise Conflict("The original changed since it was sent for signature.")
    sealed_at = now.replace(microsecond=0)  # /M holds whole seconds; the page and the column say the same
    pdf = sealing.sealed_pdf(data, evidence_of(request, signers, firm_name, sealed_at), seal_)
    key = sealed_key(request)
    store.put_stream(key, io.BytesIO(pdf), max_bytes=len(pdf) + 1, content_type=PDF_TYPE)
    document = Document(id=uuid.uuid4(), firm_id=request.firm_id, account_id=request.account_id,
                        folder_id=original.folder_id, name=sealed_name(original.name), size=len(pdf),
                        content_type=PDF_TYPE, sha256=hashlib.sha256(pdf).hexdigest(), object_key=key,
                        source="staff", uploaded_by_kind="staff", uploaded_by_id=request.created_by,
                        uploader_name="Porta seal", scan_status=scan_status, created_at=now, updated_at=now)
    db.add(document)
    request.signed_document_id, request.sealed_at, request.updated_at = document.id, sealed_at, now
    db.flush()
    return Sealed(document=document, signers=signers)


def find_sealed(db: DbSession, sha256: str) -> tuple[SignatureRequest, list[Signer]] | None:
    """The request whose sealed copy has exactly these bytes (any firm: whoever holds the file holds its
    evidence page already)."""
    found = db.execute(select(SignatureRequest)
                       .join(Document, and_(Document.firm_id == SignatureRequest.firm_id,
                                            Document.id == SignatureRequest.signed_document_id))
                       .where(Document.sha256 == sha256).limit(1)).scalar_one_or_none()
    if found is None:
        return None
    return found, signers_of(db, found)
