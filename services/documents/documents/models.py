"""The documents service's own tables: folders, documents, uploads in flight, file requests.

Every row carries `firm_id`, and children reference their parent through `(firm_id, id)`, so a
row can never point into another firm. The bytes are in the object store under keys we make
(`firms/<firm_id>/uploads/<upload_id>/...`); a row only names its key.
"""
from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.contracts.documents import (
    CLIENT_ACCESS,
    FILE_REQUEST_STATUSES,
    ROOTS,
    SCAN_STATUSES,
    SOURCES,
    UPLOADER_KINDS,
)
from shared.outbox import messaging_tables


def _now() -> datetime:
    """Clock time, not the transaction's start: rows made in one transaction keep their order."""
    return datetime.now(UTC)


def _one_of(column: str, values: tuple[str, ...], name: str) -> CheckConstraint:
    return CheckConstraint(f"{column} IN ({', '.join(repr(v) for v in values)})", name=name)


class Base(DeclarativeBase):
    pass


messaging = messaging_tables(Base.metadata)


class Folder(Base):
    """A folder of an account. Each account has two roots, made on first use: `private` (the
    client never sees it or anything under it) and `client` (the client's own folder)."""

    __tablename__ = "folders"
    __table_args__ = (
        UniqueConstraint("firm_id", "id", name="uq_folders_firm_id"),
        ForeignKeyConstraint(["firm_id", "parent_id"], ["folders.firm_id", "folders.id"], name="fk_folders_parent",
                             ondelete="CASCADE"),
        _one_of("client_access", CLIENT_ACCESS, "ck_folders_client_access"),
        _one_of("root", ROOTS, "ck_folders_root"),
        CheckConstraint("(root IS NULL) <> (parent_id IS NULL)", name="ck_folders_root_has_no_parent"),
        Index("uq_folders_account_root", "account_id", "root", unique=True, postgresql_where=text("root IS NOT NULL")),
        Index("uq_folders_sibling_name", "parent_id", func.lower(text("name")), unique=True,
              postgresql_where=text("parent_id IS NOT NULL")),
        Index("ix_folders_firm_account", "firm_id", "account_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    firm_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    account_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    parent_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    root: Mapped[str | None] = mapped_column(String(10))
    name: Mapped[str] = mapped_column(String(255))
    client_access: Mapped[str] = mapped_column(String(10))
    created_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now, server_default=func.now())


class FileRequest(Base):
    """A request for files into one folder, answered through a links-service link (kind
    `file_request`) by anyone who has it, without logging in."""

    __tablename__ = "file_requests"
    __table_args__ = (
        UniqueConstraint("firm_id", "id", name="uq_file_requests_firm_id"),
        ForeignKeyConstraint(["firm_id", "folder_id"], ["folders.firm_id", "folders.id"],
                             name="fk_file_requests_folder", ondelete="CASCADE"),
        _one_of("status", FILE_REQUEST_STATUSES, "ck_file_requests_status"),
        Index("ix_file_requests_firm_account_created", "firm_id", "account_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    firm_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    account_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    folder_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    # A guest account's request files each uploader into a folder of his own.
    guest: Mapped[bool] = mapped_column(Boolean, default=False)
    message: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default="open")
    link_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    recipients: Mapped[list[str]] = mapped_column(ARRAY(String(254)), default=list)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    max_files: Mapped[int | None] = mapped_column(Integer)
    max_bytes: Mapped[int | None] = mapped_column(BigInteger)
    allowed_types: Mapped[list[str] | None] = mapped_column(ARRAY(String(20)))
    received_count: Mapped[int] = mapped_column(Integer, default=0)
    received_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    # Files received since the uploader last pressed "done uploading": a press with none is a no-op.
    received_since_done: Mapped[int] = mapped_column(Integer, default=0)
    done_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now, onupdate=_now,
                                                 server_default=func.now())
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Upload(Base):
    """An upload in flight: its bytes are being written under `object_prefix` by the gateway.
    Completing it turns it into documents in one transaction; one never completed (the gateway
    died, the client left) is swept with its objects after `expires_at`."""

    __tablename__ = "uploads"
    __table_args__ = (
        UniqueConstraint("firm_id", "id", name="uq_uploads_firm_id"),
        ForeignKeyConstraint(["firm_id", "folder_id"], ["folders.firm_id", "folders.id"], name="fk_uploads_folder",
                             ondelete="CASCADE"),
        ForeignKeyConstraint(["firm_id", "file_request_id"], ["file_requests.firm_id", "file_requests.id"],
                             name="fk_uploads_file_request", ondelete="CASCADE"),
        _one_of("source", SOURCES, "ck_uploads_source"),
        _one_of("uploaded_by_kind", UPLOADER_KINDS, "ck_uploads_uploaded_by_kind"),
        Index("ix_uploads_expires_at", "expires_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    firm_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    account_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    folder_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    file_request_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    filename: Mapped[str] = mapped_column(String(255))
    declared_type: Mapped[str | None] = mapped_column(String(255))
    unzip: Mapped[bool] = mapped_column(Boolean, default=True)
    source: Mapped[str] = mapped_column(String(10))
    uploaded_by_kind: Mapped[str] = mapped_column(String(10))
    uploaded_by_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    uploader_name: Mapped[str | None] = mapped_column(String(200))
    uploader_email: Mapped[str | None] = mapped_column(String(254))
    max_bytes: Mapped[int] = mapped_column(BigInteger)
    object_prefix: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now, server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    @property
    def object_key(self) -> str:
        """Where the gateway writes the uploaded file itself (an archive's members go beside it)."""
        return f"{self.object_prefix}original"


class Document(Base):
    __tablename__ = "documents"
    __table_args__ = (
        UniqueConstraint("firm_id", "id", name="uq_documents_firm_id"),
        UniqueConstraint("object_key", name="uq_documents_object_key"),
        ForeignKeyConstraint(["firm_id", "folder_id"], ["folders.firm_id", "folders.id"],
                             name="fk_documents_folder", ondelete="CASCADE"),
        ForeignKeyConstraint(["firm_id", "file_request_id"], ["file_requests.firm_id", "file_requests.id"],
                             name="fk_documents_file_request"),
        _one_of("source", SOURCES, "ck_documents_source"),
        _one_of("uploaded_by_kind", UPLOADER_KINDS, "ck_documents_uploaded_by_kind"),
        _one_of("scan_status", SCAN_STATUSES, "ck_documents_scan_status"),
        Index("ix_documents_firm_account_created", "firm_id", "account_id", "created_at"),
        Index("ix_documents_folder_created", "folder_id", "created_at"),
        # The duplicate check of a link upload compares only with what came through that link.
        Index("ix_documents_file_request_sha256", "file_request_id", "sha256"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    firm_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    account_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    folder_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    name: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(BigInteger)
    content_type: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64))
    object_key: Mapped[str] = mapped_column(String(300))
    source: Mapped[str] = mapped_column(String(10))
    uploaded_by_kind: Mapped[str] = mapped_column(String(10))
    uploaded_by_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    uploader_name: Mapped[str | None] = mapped_column(String(200))
    uploader_email: Mapped[str | None] = mapped_column(String(254))
    file_request_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    # The archive this document was unpacked from (the archive itself is kept as a document too).
    archive_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    scan_status: Mapped[str] = mapped_column(String(12), default="not_scanned")
    # NEW until someone other than its uploader first opens it.
    opened_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now, onupdate=_now,
                                                 server_default=func.now())
