"""File requests: a folder, a message and a link through which anyone who has it uploads files.

The link (kind `file_request`) lives in the links service; this module keeps the request, its
limits and what arrived through it. An uploader never learns what else the folder holds.
"""
from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession

from documents import filetypes, folders
from documents.models import Document, FileRequest, Folder
from shared.errors import Conflict, Gone, NotFound, PayloadTooLarge, UnsupportedMediaType, ValidationFailed
from shared.paging import newest_first


def create(db: DbSession, folder: Folder, created_by: uuid.UUID, data: dict[str, Any], *,
           guest: bool) -> FileRequest:
    expires_at = data["expires_at"]
    if expires_at is not None and expires_at <= datetime.now(UTC):
        raise ValidationFailed("The request would be expired already.", {"expires_at": ["Must be in the future."]})
    request = FileRequest(id=uuid.uuid4(), firm_id=folder.firm_id, account_id=folder.account_id, folder_id=folder.id,
                          guest=guest, message=data["message"].strip(), status="open",
                          recipients=sorted({r.lower() for r in data["recipients"]}), expires_at=expires_at,
                          max_files=data["max_files"], max_bytes=data["max_bytes"],
                          allowed_types=sorted(set(data["allowed_types"])) if data["allowed_types"] else None,
                          created_by=created_by, received_count=0, received_bytes=0, received_since_done=0)
    db.add(request)
    db.flush()
    return request


def find(db: DbSession, firm_id: uuid.UUID, request_id: uuid.UUID, *, lock: bool = False) -> FileRequest:
    query = select(FileRequest).where(FileRequest.firm_id == firm_id, FileRequest.id == request_id)
    if lock:
        query = query.with_for_update()
    request = db.scalar(query)
    if request is None:
        raise NotFound("No such file request.")
    return request


def list_for_account(db: DbSession, firm_id: uuid.UUID, account_id: uuid.UUID, limit: int,
                     cursor: str | None) -> tuple[list[FileRequest], str | None]:
    query = select(FileRequest).where(FileRequest.firm_id == firm_id, FileRequest.account_id == account_id)
    return newest_first(db, query, FileRequest, limit, cursor)


def edit_message(request: FileRequest, message: str) -> None:
    if request.status != "open":
        raise Conflict("A revoked request cannot be edited.")
    request.message = message.strip()


def resend_to(request: FileRequest, recipients: list[str] | None) -> list[str]:
    """Whom a resend goes to: the given addresses (remembered too) or the earlier recipients."""
    if request.status != "open":
        raise Conflict("A revoked request cannot be sent.")
    if recipients:
        request.recipients = sorted({*request.recipients, *(r.lower() for r in recipients)})
        return sorted({r.lower() for r in recipients})
    if not request.recipients:
        raise ValidationFailed("The request was never sent to anyone: name the recipients.",
                               {"recipients": ["Required: the request has no earlier recipients."]})
    return list(request.recipients)


def revoke(request: FileRequest) -> bool:
    """True when this call revoked it (False: revoked before)."""
    if request.status == "revoked":
        return False
    request.status = "revoked"
    request.revoked_at = datetime.now(UTC)
    return True


def require_open(request: FileRequest) -> None:
    """Uploads and "done" go only through an open request; the link says 410 once it is not."""
    if request.status != "open":
        raise Gone("This request was revoked.")
    if request.expires_at is not None and request.expires_at <= datetime.now(UTC):
        raise Gone("This request has expired.")


def upload_folder(db: DbSession, request: FileRequest, uploader_name: str | None,
                  uploader_email: str | None) -> Folder:
    """Where a link upload goes: the request's folder, or on a guest account the uploader's own
    folder inside it (the guest-account article: one folder per person who uploads)."""
    folder = folders.get_folder(db, request.firm_id, request.account_id, request.folder_id, client=False)
    if not request.guest:
        return folder
    if not uploader_name or not uploader_email:
        raise ValidationFailed("Tell us your name and email before uploading.",
                               {"uploader": ["Name and email are required for this request."]})
    name = filetypes.sanitize_filename(f"{uploader_name.strip()} ({uploader_email.strip().lower()})")
    return folders.child_folder(db, folder, name)


def max_bytes(request: FileRequest, default: int) -> int:
    return min(default, request.max_bytes) if request.max_bytes else default


def check_room(request: FileRequest, filename: str, size: int | None) -> None:
    """Refuse a file the request's limits cannot take, before its bytes move (the content's type
    is checked against `allowed_types` again once it is stored)."""
    if request.max_files is not None and request.received_count >= request.max_files:
        raise Conflict(f"This request takes at most {request.max_files} files, and all have arrived.")
    if request.max_bytes is not None and size is not None and size > request.max_bytes:
        raise PayloadTooLarge(f"This request takes files of at most {request.max_bytes:,} bytes.")
    if request.allowed_types and not filetypes.extension_allowed(filetypes.extension_of(filename),
                                                                 request.allowed_types):
        raise UnsupportedMediaType(f"This request takes only {', '.join(request.allowed_types)} files.")


def note_received(request: FileRequest, documents: list[Document]) -> None:
    request.received_count += len(documents)
    request.received_bytes += sum(d.size for d in documents)
    request.received_since_done += len(documents)
    request.updated_at = datetime.now(UTC)


def press_done(request: FileRequest) -> bool:
    """The uploader says he is done: True when that is news for the firm (files came since the
    last press), so pressing twice, or with nothing sent, notifies nobody."""
    require_open(request)
    if request.received_since_done == 0:
        return False
    request.received_since_done = 0
    request.done_at = datetime.now(UTC)
    return True
