"""File requests: a folder, a message and a link through which anyone who has it uploads files.

The link (kind `file_request`) lives in the links service; this module keeps the request, its
limits, the uploads through its link and what arrived. An uploader never learns what else the
folder holds.
"""
from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession

from documents import archive, filetypes, folders, uploads
from documents.models import Document, FileRequest, Folder, Upload
from shared.errors import Conflict, Gone, NotFound, PayloadTooLarge, UnsupportedMediaType, ValidationFailed
from shared.paging import newest_first
from shared.storage import ObjectStore

# What an unknown request, another firm's, or one on an account hidden from the caller answers alike.
NO_SUCH_REQUEST = "No such file request."


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


def link_payload(request: FileRequest, view: dict[str, Any]) -> dict[str, Any]:
    """What the links service issues for a request: a reusable link, retrievable so the Requested
    files list can show it again, that expires with the request; `view` (PublicFileRequestSchema's dump
    of `public_fields`) is what its upload page shows, kept by links so the page costs one lookup."""
    return {"firm_id": str(request.firm_id), "kind": "file_request",
            "target": {"type": "file_request", "id": str(request.id)}, "single_use": False, "retrievable": True,
            "expires_at": request.expires_at.isoformat() if request.expires_at else None, "view": view}


def public_fields(request: FileRequest) -> dict[str, Any]:
    """What the upload page may show (PublicFileRequestSchema picks from these)."""
    return {**as_fields(request), "ask_uploader": request.guest}


def attach_link(request: FileRequest, link_id: uuid.UUID) -> None:
    request.link_id = link_id
    _touch(request)


def _touch(request: FileRequest) -> None:
    """Set here rather than at the flush, so an event dumped before the commit tells the stored time."""
    request.updated_at = datetime.now(UTC)


def find(db: DbSession, firm_id: uuid.UUID, request_id: uuid.UUID, *, lock: bool = False) -> FileRequest:
    query = select(FileRequest).where(FileRequest.firm_id == firm_id, FileRequest.id == request_id)
    if lock:
        query = query.with_for_update()
    request = db.scalar(query)
    if request is None:
        raise NotFound(NO_SUCH_REQUEST)
    return request


def find_open(db: DbSession, firm_id: uuid.UUID, request_id: uuid.UUID, *, lock: bool = False) -> FileRequest:
    """The request a live link stands for, if it still takes files (410 otherwise)."""
    request = find(db, firm_id, request_id, lock=lock)
    require_open(request)
    return request


def list_for_account(db: DbSession, firm_id: uuid.UUID, account_id: uuid.UUID, limit: int,
                     cursor: str | None) -> tuple[list[FileRequest], str | None]:
    query = select(FileRequest).where(FileRequest.firm_id == firm_id, FileRequest.account_id == account_id)
    return newest_first(db, query, FileRequest, limit, cursor)


def as_fields(request: FileRequest) -> dict[str, Any]:
    """The request's columns, to dump with a `url` beside them."""
    return {column.key: getattr(request, column.key) for column in FileRequest.__table__.columns}


def links_to_reveal(requests: Iterable[FileRequest]) -> list[str]:
    """The links whose url staff may copy: those of open requests."""
    return [str(r.link_id) for r in requests if r.link_id is not None and r.status == "open"]


def with_urls(requests: Iterable[FileRequest], urls: Mapping[str, str]) -> list[dict[str, Any]]:
    """Each request with its upload page's url (`urls`: link id -> page of the live ones,
    shared.contracts.links.live_page_urls); null for a revoked request or a link that is not live any more."""
    return [{**as_fields(r), "url": urls.get(str(r.link_id))} for r in requests]


def edit_message(request: FileRequest, message: str) -> None:
    if request.status != "open":
        raise Conflict("A revoked request cannot be edited.")
    request.message = message.strip()
    _touch(request)


def resend_to(request: FileRequest, recipients: list[str] | None) -> list[str]:
    """Whom a resend goes to: the given addresses (remembered too) or the earlier recipients."""
    if request.status != "open":
        raise Conflict("A revoked request cannot be sent.")
    if recipients:
        remembered = sorted({*request.recipients, *(r.lower() for r in recipients)})
        if remembered != list(request.recipients):
            request.recipients = remembered
            _touch(request)
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
    _touch(request)
    return True


def closed_because(request: FileRequest) -> str | None:
    """Why the request takes no more files, or None while it is open."""
    if request.status != "open":
        return "This request was revoked."
    if request.expires_at is not None and request.expires_at <= datetime.now(UTC):
        return "This request has expired."
    return None


def require_open(request: FileRequest) -> None:
    """Uploads and "done" go only through an open request; the link says 410 once it is not."""
    reason = closed_because(request)
    if reason is not None:
        raise Gone(reason)


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


def require_room(request: FileRequest, files_before: int = 0) -> None:
    """Once `max_files` files have arrived, the request takes no more; `files_before`: files of the
    same upload ahead of this one, which would arrive with it."""
    if request.max_files is not None and request.received_count + files_before >= request.max_files:
        left = max(0, request.max_files - request.received_count)
        raise Conflict(f"This request takes at most {request.max_files} files, and {left} more can come.")


def check_room(request: FileRequest, filename: str, size: int | None, files_before: int = 0) -> None:
    """Refuse a file the request's limits cannot take, before its bytes move (the content's type
    is checked against `allowed_types` again once it is stored)."""
    require_room(request, files_before)
    if request.max_bytes is not None and size is not None and size > request.max_bytes:
        raise PayloadTooLarge(f"This request takes files of at most {request.max_bytes:,} bytes.")
    if request.allowed_types and not filetypes.extension_allowed(filetypes.extension_of(filename),
                                                                 request.allowed_types):
        raise UnsupportedMediaType(f"This request takes only {', '.join(request.allowed_types)} files.")


def begin_upload(db: DbSession, request: FileRequest, data: Mapping[str, Any], *, max_upload_bytes: int) -> Upload:
    """An upload through the request's link (`LinkUploadRequestSchema`), within its limits."""
    check_room(request, data["filename"], data["size"], data["files_before"])
    folder = upload_folder(db, request, data["uploader_name"], data["uploader_email"])
    uploader = uploads.Uploader(kind="link", source="link", name=data["uploader_name"], email=data["uploader_email"])
    return uploads.begin(db, folder=folder, filename=data["filename"], declared_type=data["content_type"],
                         size=data["size"], unzip=data["unzip"], uploader=uploader, file_request=request,
                         max_bytes=max_bytes(request, max_upload_bytes))


def find_uploads(db: DbSession, request: FileRequest, upload_ids: list[uuid.UUID]) -> list[Upload]:
    """Uploads through this request's link, locked for completing them together; any other is not found."""
    batch = uploads.find_batch(db, upload_ids)
    if any(upload.file_request_id != request.id for upload in batch):
        raise NotFound("No such upload.")
    return batch


def receive(db: DbSession, store: ObjectStore, request: FileRequest, upload: Upload, *, size: int, sha256: str,
            head: bytes, limits: archive.ArchiveLimits, scan_status: str) -> uploads.Completed:
    """Complete an upload through the link. Content that came through this request before is not
    stored again (the upload is forgotten); anything refused raises, and the caller discards it.
    The files of one HTTP request are received one after the other in one transaction, so
    `max_files` counts those before this one (and any that raced in while the bytes were on their way)."""
    require_room(request)
    completed = uploads.complete(db, store, upload, size=size, sha256=sha256, head=head, limits=limits,
                                 allowed_types=request.allowed_types, scan_status=scan_status)
    if completed.duplicate_of is not None:
        uploads.discard(db, store, upload.id)
    else:
        note_received(request, completed.documents)
    return completed


def what_the_uploader_sees(upload: Upload, completed: uploads.Completed, size: int) -> dict[str, Any]:
    """The answer to a link upload: what he sent, nothing else (not the folder, not the names
    unpacked from his .zip); a duplicate, with the date its content first arrived."""
    if completed.duplicate_of is not None:
        return {"name": upload.filename, "size": size, "duplicate": True,
                "received_at": completed.duplicate_of.created_at}
    stored = completed.documents[0]
    return {"name": stored.name, "size": stored.size, "duplicate": False, "received_at": stored.created_at}


def discard_if_closed(db: DbSession, store: ObjectStore, upload_ids: Iterable[uuid.UUID]) -> None:
    """Uploads into a request that is no longer open can never complete: they go now, not with
    the sweeper (the link was revoked or expired while their bytes were on their way)."""
    for upload_id in upload_ids:
        upload = db.get(Upload, upload_id)
        if upload is None or upload.file_request_id is None:
            continue
        request = db.get(FileRequest, upload.file_request_id)
        if request is None or closed_because(request) is not None:
            uploads.discard(db, store, upload_id)


def note_received(request: FileRequest, documents: list[Document]) -> None:
    request.received_count += len(documents)
    request.received_bytes += sum(d.size for d in documents)
    request.received_since_done += len(documents)
    _touch(request)


def press_done(request: FileRequest) -> bool:
    """The uploader says he is done: True when that is news for the firm (files came since the
    last press), so pressing twice, or with nothing sent, notifies nobody."""
    require_open(request)
    if request.received_since_done == 0:
        return False
    request.received_since_done = 0
    request.done_at = datetime.now(UTC)
    _touch(request)
    return True
