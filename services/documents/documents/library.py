"""An account's documents: listing, renaming, moving, deleting and opening them.

Callers have already been authorised for the account (crm's `authorize_account`); `client`
says whether the caller is a client user, who reaches only documents in folders he sees.
"""
from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session as DbSession

from documents import filetypes, folders
from documents.models import Document, Folder
from shared.errors import Conflict, NotFound
from shared.paging import newest_first

# What an unknown document, another firm's, or one on an account hidden from the caller answers alike.
NO_SUCH_DOCUMENT = "No such document."
# Scan statuses that keep a file from being downloaded, and what the refusal says.
QUARANTINED = {
    "pending": "This file is quarantined until its virus scan clears it.",
    "infected": "This file failed its virus scan.",
    "too_large": "This file is too large for the virus scanner, so it stays quarantined.",
}


def find_document(db: DbSession, firm_id: uuid.UUID, document_id: uuid.UUID) -> Document:
    """A document of the firm, before the caller's right to its account is checked."""
    document = db.get(Document, document_id)  # by primary key: no statement to build per call
    if document is None or document.firm_id != firm_id:
        raise NotFound(NO_SUCH_DOCUMENT)
    return document


def visible_document(db: DbSession, document: Document, *, client: bool) -> Document:
    """The document if the caller may see it; a client sees only those in folders shown to him."""
    if client:
        folder = db.get(Folder, document.folder_id)
        if folder is None or not folders.client_sees(folder):
            raise NotFound(NO_SUCH_DOCUMENT)
    return document


def list_documents(db: DbSession, firm_id: uuid.UUID, account_id: uuid.UUID, params: dict[str, Any], *,
                   client: bool) -> tuple[list[Document], str | None]:
    query = select(Document).where(Document.firm_id == firm_id, Document.account_id == account_id)
    if params["folder_id"] is not None:
        folder = folders.get_folder(db, firm_id, account_id, params["folder_id"], client=client)
        query = query.where(Document.folder_id == folder.id)
    elif client:
        visible = select(Folder.id).where(Folder.firm_id == firm_id, Folder.account_id == account_id,
                                          Folder.client_access != "none")
        query = query.where(Document.folder_id.in_(visible))
    if params["q"]:
        escaped = params["q"].replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(Document.name.ilike(f"%{escaped}%", escape="\\"))
    return newest_first(db, query, Document, params["limit"], params["cursor"])


def update_document(db: DbSession, document: Document, data: dict[str, Any]) -> Document:
    """Rename and/or move within the same account."""
    if "name" in data:
        new_name = filetypes.sanitize_filename(data["name"])
        if filetypes.extension_of(new_name) != filetypes.extension_of(document.name):
            # The stored type was checked against the extension on upload; keep them agreeing.
            raise Conflict("A rename keeps the file's extension.")
        document.name = new_name
    if "folder_id" in data:
        folder = folders.get_folder(db, document.firm_id, document.account_id, data["folder_id"], client=False)
        document.folder_id = folder.id
    document.updated_at = datetime.now(UTC)
    db.flush()
    return document


def delete_document(db: DbSession, document: Document) -> None:
    """The row goes now; its bytes when the `document_deleted` event is handled (after commit)."""
    db.delete(document)
    db.flush()


def open_document(document: Document, opener_id: uuid.UUID | None, account_id: uuid.UUID | None = None) -> bool:
    """For a download: refused while quarantined. A portal path names the account too (`account_id`): a
    document of another account is not found there. True when this opening clears NEW (the first by someone
    other than the uploader), which the caller writes with `mark_opened`: a download is otherwise a read."""
    if account_id is not None and document.account_id != account_id:
        raise NotFound(NO_SUCH_DOCUMENT)
    if document.scan_status in QUARANTINED:
        raise Conflict(QUARANTINED[document.scan_status])
    return document.opened_at is None and opener_id is not None and opener_id != document.uploaded_by_id


def mark_opened(db: DbSession, document_id: uuid.UUID) -> None:
    """NEW cleared: the document was opened by someone other than its uploader (the first such opening counts)."""
    db.execute(update(Document).where(Document.id == document_id, Document.opened_at.is_(None))
               .values(opened_at=func.now()))
