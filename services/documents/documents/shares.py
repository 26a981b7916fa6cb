"""Shares: documents of one account sent to third parties, each recipient with his own link and expiry.

A recipient's link (links kind `share`, target `{"type": "share_recipient", "id": <his row>}`) is
issued without an expiry and retrievable, so staff copy it again and change his expiry without
changing his link: his expiry lives here and is compared on every call through the link, like a
revoke (the links service revokes the link too). A recipient sees the firm's message and the
documents, never the other recipients. A deleted document drops out of every share (its
`share_documents` rows go with it).

Plain Python over a SQLAlchemy session, no nameko; the caller commits.
"""
from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession

from documents import library
from documents.models import Document, Share, ShareDocument, ShareRecipient
from shared.errors import Conflict, Gone, NotFound, ValidationFailed
from shared.paging import newest_first

NO_SUCH_SHARE = "No such share."
NO_SUCH_RECIPIENT = "No such recipient."
LINK_TARGET = "share_recipient"
# Shown in the browser (inline); anything else is always a download, so no shared file can run as a page.
VIEWABLE_TYPES = ("application/pdf", "image/png", "image/jpeg", "image/gif", "image/webp")
DOWNLOADABLE_SCANS = ("not_scanned", "clean")
QUARANTINED_FOR_GOOD = ("infected", "too_large")


def _now() -> datetime:
    return datetime.now(UTC)


def one_account(documents: list[Document]) -> uuid.UUID:
    """The one account every document belongs to (a share never mixes two clients' documents)."""
    accounts = {d.account_id for d in documents}
    if len(accounts) != 1:
        raise ValidationFailed("A share holds documents of one account.",
                               {"document_ids": ["All documents must belong to the same account."]})
    return accounts.pop()


def find_documents(db: DbSession, firm_id: uuid.UUID, document_ids: list[uuid.UUID]) -> list[Document]:
    """The firm's documents, in the order named; an unknown one (or another firm's) is not found."""
    found = {d.id: d for d in db.scalars(select(Document).where(Document.firm_id == firm_id,
                                                                Document.id.in_(document_ids)))}
    if len(found) != len(set(document_ids)):
        raise NotFound(library.NO_SUCH_DOCUMENT)
    return [found[i] for i in document_ids]


def check_shareable(documents: Iterable[Document]) -> None:
    """A file the virus scan quarantined is never sent to anyone (409); one still being scanned may
    be shared, and can be downloaded once it is cleared."""
    for document in documents:
        if document.scan_status in QUARANTINED_FOR_GOOD:
            raise Conflict(f"“{document.name}” is quarantined and cannot be shared.")


def _check_expiry(expires_at: datetime | None) -> None:
    if expires_at is not None and expires_at <= _now():
        raise ValidationFailed("The link would be expired already.", {"expires_at": ["Must be in the future."]})


def create(db: DbSession, firm_id: uuid.UUID, account_id: uuid.UUID, documents: list[Document],
           created_by: uuid.UUID, data: Mapping[str, Any]) -> Share:
    """The share (`ShareCreateSchema`'s data) and one row per recipient, without links yet."""
    for recipient in data["recipients"]:
        _check_expiry(recipient["expires_at"])
    message = (data["message"] or "").strip() or None
    share = Share(id=uuid.uuid4(), firm_id=firm_id, account_id=account_id, message=message, status="active",
                  created_by=created_by)
    db.add(share)
    db.flush()
    for position, document in enumerate(documents):
        db.add(ShareDocument(share_id=share.id, document_id=document.id, firm_id=firm_id, position=position))
    for recipient in data["recipients"]:
        db.add(ShareRecipient(id=uuid.uuid4(), firm_id=firm_id, share_id=share.id,
                              email=recipient["email"].strip().lower(), expires_at=recipient["expires_at"],
                              opens=0, downloads=0))
    db.flush()
    return share


def link_payload(recipient: ShareRecipient) -> dict[str, Any]:
    """His link: reusable (he opens and downloads as often as he likes), retrievable (staff copy it
    again), with no expiry of its own (his expiry is this row's, which staff may change)."""
    return {"firm_id": str(recipient.firm_id), "kind": "share",
            "target": {"type": LINK_TARGET, "id": str(recipient.id)}, "single_use": False, "retrievable": True,
            "expires_at": None}


def attach_link(recipient: ShareRecipient, link_id: uuid.UUID) -> None:
    recipient.link_id = link_id
    recipient.updated_at = _now()


def find(db: DbSession, firm_id: uuid.UUID, share_id: uuid.UUID, *, lock: bool = False) -> Share:
    query = select(Share).where(Share.firm_id == firm_id, Share.id == share_id)
    share = db.scalar(query.with_for_update() if lock else query)
    if share is None:
        raise NotFound(NO_SUCH_SHARE)
    return share


def recipients_of(db: DbSession, share: Share) -> list[ShareRecipient]:
    return list(db.scalars(select(ShareRecipient).where(ShareRecipient.share_id == share.id)
                           .order_by(ShareRecipient.created_at, ShareRecipient.email)))


def find_recipient(db: DbSession, share: Share, recipient_id: uuid.UUID, *, lock: bool = False) -> ShareRecipient:
    query = select(ShareRecipient).where(ShareRecipient.share_id == share.id, ShareRecipient.id == recipient_id)
    recipient = db.scalar(query.with_for_update() if lock else query)
    if recipient is None:
        raise NotFound(NO_SUCH_RECIPIENT)
    return recipient


def documents_of(db: DbSession, share: Share) -> list[Document]:
    """The share's documents that still exist, in the order they were shared."""
    return list(db.scalars(select(Document).join(ShareDocument, ShareDocument.document_id == Document.id)
                           .where(ShareDocument.share_id == share.id).order_by(ShareDocument.position)))


def list_for_account(db: DbSession, firm_id: uuid.UUID, account_id: uuid.UUID, limit: int,
                     cursor: str | None) -> tuple[list[Share], str | None]:
    query = select(Share).where(Share.firm_id == firm_id, Share.account_id == account_id)
    return newest_first(db, query, Share, limit, cursor)


def status_of(share: Share, recipient: ShareRecipient, now: datetime | None = None) -> str:
    """`revoked` (his link or the whole share), `expired` (past his expiry) or `active`."""
    if share.status == "revoked" or recipient.revoked_at is not None:
        return "revoked"
    if recipient.expires_at is not None and recipient.expires_at <= (now or _now()):
        return "expired"
    return "active"


def require_live(share: Share, recipient: ShareRecipient) -> None:
    """A link that is revoked or past its expiry answers 410, in plain words."""
    status = status_of(share, recipient)
    if status == "revoked":
        raise Gone("The firm withdrew this share.")
    if status == "expired":
        raise Gone("This share has expired.")


def links_to_reveal(db: DbSession, shares: Iterable[Share]) -> list[str]:
    """The links whose url staff may copy again: those of recipients not revoked."""
    return [str(r.link_id) for share in shares for r in recipients_of(db, share)
            if r.link_id is not None and status_of(share, r) != "revoked"]


@dataclass
class ShareView:
    """A share with what staff see of it: its documents and its recipients with their links."""

    share: Share
    documents: list[Document]
    recipients: list[ShareRecipient]

    def fields(self, urls: Mapping[str, str]) -> dict[str, Any]:
        now = _now()
        columns = {column.key: getattr(self.share, column.key) for column in Share.__table__.columns}
        return {**columns, "document_ids": [d.id for d in self.documents],
                "documents": self.documents,
                "recipients": [{**{c.key: getattr(r, c.key) for c in ShareRecipient.__table__.columns},
                                "status": status_of(self.share, r, now),
                                "url": urls.get(str(r.link_id)) if status_of(self.share, r, now) != "revoked"
                                else None}
                               for r in self.recipients]}


def view(db: DbSession, share: Share) -> ShareView:
    return ShareView(share, documents_of(db, share), recipients_of(db, share))


def set_expiry(share: Share, recipient: ShareRecipient, expires_at: datetime | None) -> None:
    """Extend or shorten his link (an expired one comes back to life); a revoked one stays revoked."""
    if status_of(share, recipient) == "revoked":
        raise Conflict("This recipient's link was revoked; share the documents again instead.")
    _check_expiry(expires_at)
    recipient.expires_at = expires_at
    recipient.updated_at = _now()
    share.updated_at = _now()


def revoke_recipient(share: Share, recipient: ShareRecipient) -> bool:
    """True when this call revoked his link (False: it was revoked before)."""
    if recipient.revoked_at is not None or share.status == "revoked":
        return False
    recipient.revoked_at = recipient.updated_at = share.updated_at = _now()
    return True


def revoke(share: Share, recipients: list[ShareRecipient]) -> list[ShareRecipient]:
    """Revoke the share and every recipient's link: the recipients revoked by this call."""
    if share.status == "revoked":
        return []
    now = _now()
    share.status, share.revoked_at, share.updated_at = "revoked", now, now
    revoked = [r for r in recipients if r.revoked_at is None]
    for recipient in revoked:
        recipient.revoked_at = recipient.updated_at = now
    return revoked


# -- through the recipient's link --------------------------------------------------------------


def find_linked(db: DbSession, firm_id: uuid.UUID, recipient_id: uuid.UUID, *,
                lock: bool = False) -> tuple[Share, ShareRecipient]:
    """The share and recipient a live link stands for, if the share still works for him (410 otherwise)."""
    query = select(ShareRecipient).where(ShareRecipient.firm_id == firm_id, ShareRecipient.id == recipient_id)
    recipient = db.scalar(query.with_for_update() if lock else query)
    if recipient is None:
        raise NotFound(NO_SUCH_RECIPIENT)
    share = find(db, firm_id, recipient.share_id)
    require_live(share, recipient)
    return share, recipient


def is_viewable(document: Document) -> bool:
    return document.content_type in VIEWABLE_TYPES


def is_available(document: Document) -> bool:
    return document.scan_status in DOWNLOADABLE_SCANS


def public_fields(share: Share, recipient: ShareRecipient, documents: list[Document]) -> dict[str, Any]:
    """What the recipient's page shows: the message, his own address and expiry, the documents."""
    return {"message": share.message, "email": recipient.email, "expires_at": recipient.expires_at,
            "documents": [{"id": d.id, "name": d.name, "size": d.size, "content_type": d.content_type,
                           "viewable": is_viewable(d), "available": is_available(d)} for d in documents]}


def shared_document(db: DbSession, share: Share, document_id: uuid.UUID) -> Document:
    """One document of the share, if still there and cleared by the scan (404 / 409 otherwise)."""
    document = next((d for d in documents_of(db, share) if d.id == document_id), None)
    if document is None:
        raise NotFound(library.NO_SUCH_DOCUMENT)
    if not is_available(document):
        raise Conflict(library.QUARANTINED.get(document.scan_status, "This file is still being checked for viruses."))
    return document


def archive_members(documents: list[Document]) -> list[dict[str, Any]]:
    """The zip's members: every document that may be downloaded, each under a name of its own
    (a second `report.pdf` becomes `report (2).pdf`)."""
    members, taken = [], set()
    for document in documents:
        if not is_available(document):
            continue
        name = document.name
        stem, dot, extension = name.rpartition(".") if "." in name.lstrip(".") else (name, "", "")
        number = 1
        while name.lower() in taken:
            number += 1
            name = f"{stem} ({number}).{extension}" if dot else f"{stem} ({number})"
        taken.add(name.lower())
        members.append({"name": name, "size": document.size, "object_key": document.object_key,
                        "document_id": str(document.id), "content_type": document.content_type})
    return members


def counts_as_download(range_start: int | None) -> bool:
    """A download is counted once: a request from the first byte (a resumed one continues it)."""
    return range_start in (None, 0)


def note_open(recipient: ShareRecipient) -> None:
    now = _now()
    recipient.opens += 1
    recipient.opened_at = recipient.opened_at or now
    recipient.last_opened_at = recipient.updated_at = now


def note_download(recipient: ShareRecipient) -> None:
    now = _now()
    recipient.downloads += 1
    recipient.last_downloaded_at = recipient.updated_at = now
