"""Uploads: a file becomes documents in two steps around the bytes, which never pass through here.

1. `begin`: everything that can be refused before any byte moves is refused (folder, rights,
   name, declared size); an `Upload` row names the object prefix the gateway may write under.
2. The gateway streams the body into the object store, counting and hashing it, and keeps its
   first bytes (`HEAD_BYTES`).
3. `complete`: the type is sniffed from those first bytes (sent along, so the object is not read
   back) and checked, a `.zip` is unpacked beside it, and the documents are created in the same
   transaction that deletes the `Upload` row. The files of one HTTP request complete together, in
   one transaction (`find_own_batch`): all of them become documents or none does.

Whatever is refused at step 3 is deleted from the store and forgotten (`discard`, which the
entrypoint runs after the failed call's rollback: `UnitOfWork.on_failure`), and an upload nobody
completes is swept with its objects after `UPLOAD_LIFETIME`. So every object belongs to a document
or to a live upload.
"""
from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, BinaryIO

from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession

from documents import archive, filetypes, folders
from documents.models import Document, FileRequest, Folder, Upload
from shared.context import Principal
from shared.errors import Forbidden, NotFound, PayloadTooLarge, ValidationFailed
from shared.storage import CountingReader, ObjectStore

# Long enough for a slow client's 5 GB; the sweeper deletes what is left after it.
UPLOAD_LIFETIME = timedelta(hours=24)
ZIP_TYPE = "application/zip"


@dataclass(frozen=True)
class Uploader:
    """Who uploads, and through what: staff, a client in the portal, or a person with a link."""

    kind: str  # staff | client | link
    source: str  # staff | portal | link | chat | email
    user_id: uuid.UUID | None = None
    name: str | None = None
    email: str | None = None

    @classmethod
    def user(cls, user_id: uuid.UUID, user: Mapping[str, Any], *, client: bool) -> Uploader:
        """A logged-in user: a client uploads through the portal, staff as staff."""
        return cls(kind="client" if client else "staff", source="portal" if client else "staff", user_id=user_id,
                   name=user.get("name"), email=user.get("email"))


@dataclass
class Completed:
    """What an upload became: documents, or nothing because the same content came before."""

    documents: list[Document] = field(default_factory=list)
    duplicate_of: Document | None = None


def begin(db: DbSession, *, folder: Folder, filename: str, declared_type: str | None, size: int | None,
          unzip: bool, uploader: Uploader, max_bytes: int, file_request: FileRequest | None = None) -> Upload:
    name = filetypes.sanitize_filename(filename)
    if size is not None and size > max_bytes:
        raise PayloadTooLarge(f"The file is larger than the limit of {max_bytes:,} bytes.")
    if size == 0:
        raise ValidationFailed("The file is empty.", {"file": ["An empty file is not stored."]})
    upload_id = uuid.uuid4()
    upload = Upload(id=upload_id, firm_id=folder.firm_id, account_id=folder.account_id, folder_id=folder.id,
                    file_request_id=file_request.id if file_request else None, filename=name,
                    declared_type=declared_type, unzip=unzip, source=uploader.source,
                    uploaded_by_kind=uploader.kind, uploaded_by_id=uploader.user_id, uploader_name=uploader.name,
                    uploader_email=uploader.email, max_bytes=max_bytes,
                    object_prefix=f"firms/{folder.firm_id}/uploads/{upload_id}/",
                    expires_at=datetime.now(UTC) + UPLOAD_LIFETIME)
    db.add(upload)
    db.flush()
    return upload


def right_to_upload(kind: str) -> str | None:
    """The right crm must find for an upload: staff need `manage_documents`; a client holds no
    rights, his portal access and the folder's `view_edit` are what let him upload."""
    return "manage_documents" if kind == "staff" else None


def require_done_uploading_button(portal_settings: Mapping[str, Any] | None) -> None:
    """A client tells the firm he is done uploading only where the firm turned that button on."""
    if not (portal_settings or {}).get("done_uploading"):
        raise Forbidden("The firm has not turned on the Done uploading button.")


def begin_for_user(db: DbSession, *, firm_id: uuid.UUID, account_id: uuid.UUID, uploader: Uploader,
                   data: Mapping[str, Any], max_bytes: int) -> Upload:
    """A logged-in user's upload (`UploadRequestSchema`), into a folder he may upload into."""
    folder = folders.upload_into(db, firm_id, account_id, data["folder_id"], client=uploader.kind == "client")
    return begin(db, folder=folder, filename=data["filename"], declared_type=data["content_type"],
                 size=data["size"], unzip=data["unzip"], uploader=uploader, max_bytes=max_bytes)


def belongs_to(upload: Upload, principal: Principal | None) -> bool:
    """A logged-in caller reaches only his own uploads; a call without one, only link uploads."""
    if principal is None:
        return upload.uploaded_by_kind == "link"
    return str(upload.uploaded_by_id) == principal.user_id and str(upload.firm_id) == principal.firm_id


def find_batch(db: DbSession, upload_ids: list[uuid.UUID]) -> list[Upload]:
    """Uploads completed together, in the order named, locked (by id, so that two batches never wait
    for each other in a circle). Any one missing: not found."""
    found = {upload.id: upload for upload in db.scalars(select(Upload).where(Upload.id.in_(upload_ids))
                                                        .order_by(Upload.id).with_for_update())}
    if any(upload_id not in found for upload_id in upload_ids):
        raise NotFound("No such upload (it completed, failed or expired).")
    return [found[upload_id] for upload_id in upload_ids]


def find_own_batch(db: DbSession, upload_ids: list[uuid.UUID], principal: Principal) -> list[Upload]:
    """The caller's own uploads, locked for completing them together; anyone else's is not found."""
    batch = find_batch(db, upload_ids)
    if not all(belongs_to(upload, principal) for upload in batch):
        raise NotFound("No such upload.")
    return batch


def complete(db: DbSession, store: ObjectStore, upload: Upload, *, size: int, sha256: str, head: bytes,
             limits: archive.ArchiveLimits, allowed_types: Collection[str] | None = None,
             scan_status: str = "not_scanned") -> Completed:
    """Turn the stored bytes into documents (see the module's docstring). The type is sniffed from
    `head`, the first bytes the gateway streamed (never read back from the store). Raises a PortaError
    for a refused file; the caller then `discard`s it in a transaction of its own."""
    if size == 0:
        raise ValidationFailed("The file is empty.", {"file": ["An empty file is not stored."]})
    if size > upload.max_bytes:
        raise PayloadTooLarge(f"The file is larger than the limit of {upload.max_bytes:,} bytes.")
    content_type = filetypes.check_type(upload.filename, filetypes.sniff(head), upload.declared_type,
                                        allowed_types)
    if upload.file_request_id is not None:
        earlier = db.scalar(select(Document).where(Document.file_request_id == upload.file_request_id,
                                                   Document.sha256 == sha256)
                            .order_by(Document.created_at).limit(1))
        if earlier is not None:
            return Completed(duplicate_of=earlier)
    # No look at the folder: deleting it deletes its uploads (ON DELETE CASCADE), so the locked upload
    # found here vouches for it, and a folder deleted meanwhile left nothing to complete (NotFound).
    stored = _document(upload, upload.folder_id, upload.filename, upload.object_key, size, sha256, content_type,
                       scan_status)
    documents = [stored]
    if upload.unzip and content_type == ZIP_TYPE:
        documents += _unpack(db, store, upload, stored, size, limits, scan_status, allowed_types)
    db.add_all(documents)
    db.delete(upload)
    db.flush()
    return Completed(documents=documents)


def _document(upload: Upload, folder_id: uuid.UUID, name: str, key: str, size: int, sha256: str,
              content_type: str, scan_status: str, archive_id: uuid.UUID | None = None) -> Document:
    return Document(id=uuid.uuid4(), firm_id=upload.firm_id, account_id=upload.account_id, folder_id=folder_id,
                    name=name, size=size, content_type=content_type, sha256=sha256, object_key=key,
                    source=upload.source, uploaded_by_kind=upload.uploaded_by_kind,
                    uploaded_by_id=upload.uploaded_by_id, uploader_name=upload.uploader_name,
                    uploader_email=upload.uploader_email, file_request_id=upload.file_request_id,
                    archive_id=archive_id, scan_status=scan_status)


def _unpack(db: DbSession, store: ObjectStore, upload: Upload, zipped: Document, size: int,
            limits: archive.ArchiveLimits, scan_status: str, allowed_types: Collection[str] | None) -> list[Document]:
    """The archive's files as documents in (sub)folders of the upload's folder; any refusal
    raises before a row exists, and `discard` removes the objects already written. A file
    request's type list binds the archive's files too (it allowed the .zip as a wrapper)."""
    members_allowed = [t for t in allowed_types if t != "zip"] if allowed_types else None
    top = db.get(Folder, upload.folder_id)
    assert top is not None
    members: list[tuple[archive.ArchiveMember, str, int, str, str]] = []

    def put_member(member: archive.ArchiveMember, stream: BinaryIO) -> None:
        key = f"{upload.object_prefix}{uuid.uuid4()}"
        reader = CountingReader(stream, limits.max_total_bytes, what=f"{member.filename!r} in the archive")
        store.put_stream(key, reader, max_bytes=limits.max_total_bytes, content_type="application/octet-stream")
        content_type = filetypes.check_type(member.filename, filetypes.sniff(reader.head), None,
                                            members_allowed or None)
        members.append((member, key, reader.size, reader.sha256.hexdigest(), content_type))

    with store.reader(upload.object_key, size) as source:
        archive.unpack(source, limits, put_member)
    documents = []
    for member, key, member_size, member_sha256, content_type in members:
        folder = top
        for part in member.folder_path:
            folder = folders.child_folder(db, folder, part, upload.uploaded_by_id)
        documents.append(_document(upload, folder.id, member.filename, key, member_size, member_sha256,
                                   content_type, scan_status, archive_id=zipped.id))
    return documents


def discard(db: DbSession, store: ObjectStore, upload_id: uuid.UUID) -> None:
    """Forget an upload that failed or was refused: its objects, then its row (the caller commits)."""
    upload = db.scalar(select(Upload).where(Upload.id == upload_id).with_for_update())
    if upload is None:
        return
    store.remove_prefix(upload.object_prefix)
    db.delete(upload)
    db.flush()


def cancel(db: DbSession, store: ObjectStore, upload_id: uuid.UUID, principal: Principal | None) -> None:
    """The gateway gave up on the bytes (too large, client gone): forget the upload now. Already
    gone is fine; someone else's is not found."""
    upload = db.get(Upload, upload_id)
    if upload is None:
        return
    if not belongs_to(upload, principal):
        raise NotFound("No such upload.")
    discard(db, store, upload.id)


def sweep_expired(db: DbSession, store: ObjectStore, limit: int = 100) -> int:
    """Discard uploads nobody completed in time (another instance may sweep beside this one)."""
    expired = list(db.scalars(select(Upload).where(Upload.expires_at < datetime.now(UTC))
                              .with_for_update(skip_locked=True).limit(limit)))
    for upload in expired:
        store.remove_prefix(upload.object_prefix)
        db.delete(upload)
    db.flush()
    return len(expired)
