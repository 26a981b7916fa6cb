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
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.contracts.documents import (
    CLIENT_ACCESS,
    CLIENT_REQUEST_STATUSES,
    FILE_REQUEST_STATUSES,
    ROOTS,
    SCAN_STATUSES,
    SIGNATURE_REQUEST_STATUSES,
    SIGNER_STATES,
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


class ClientRequest(Base):
    """A questionnaire for an account: answered through a links-service link (kind `client_request`) by
    anyone who has it, or only in the portal (`login_required`, no link). Answers are saved as they
    are typed (`answers`, by question id) until someone submits them; then they are final."""

    __tablename__ = "client_requests"
    __table_args__ = (
        UniqueConstraint("firm_id", "id", name="uq_client_requests_firm_id"),
        _one_of("status", CLIENT_REQUEST_STATUSES, "ck_client_requests_status"),
        Index("ix_client_requests_firm_account_created", "firm_id", "account_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    firm_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    account_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    title: Mapped[str] = mapped_column(String(200))
    message: Mapped[str | None] = mapped_column(Text)
    # [{id, kind, label, required, options}], fixed once sent.
    questions: Mapped[list] = mapped_column(JSONB)
    # {question_id: value}; a file question's value is the ids of its documents.
    answers: Mapped[dict] = mapped_column(JSONB, default=dict)
    status: Mapped[str] = mapped_column(String(10), default="sent")
    login_required: Mapped[bool] = mapped_column(Boolean)
    link_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    recipients: Mapped[list[str]] = mapped_column(ARRAY(String(254)), default=list)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now, onupdate=_now,
                                                 server_default=func.now())
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # {kind: link|client, user_id, name, email}
    submitted_by: Mapped[dict | None] = mapped_column(JSONB)
    canceled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ClientRequestDocument(Base):
    """A document uploaded for one file question of a client request (it lives in the client root)."""

    __tablename__ = "client_request_documents"
    __table_args__ = (
        ForeignKeyConstraint(["firm_id", "client_request_id"], ["client_requests.firm_id", "client_requests.id"],
                             name="fk_client_request_documents_request", ondelete="CASCADE"),
        ForeignKeyConstraint(["firm_id", "document_id"], ["documents.firm_id", "documents.id"],
                             name="fk_client_request_documents_document", ondelete="CASCADE"),
        Index("ix_client_request_documents_request", "client_request_id", "question_id"),
    )

    document_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    firm_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    client_request_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    question_id: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now, server_default=func.now())


class ClientRequestUpload(Base):
    """An upload in flight for a file question: it goes with its upload (completed, discarded or swept)."""

    __tablename__ = "client_request_uploads"
    __table_args__ = (
        ForeignKeyConstraint(["firm_id", "upload_id"], ["uploads.firm_id", "uploads.id"],
                             name="fk_client_request_uploads_upload", ondelete="CASCADE"),
        ForeignKeyConstraint(["firm_id", "client_request_id"], ["client_requests.firm_id", "client_requests.id"],
                             name="fk_client_request_uploads_request", ondelete="CASCADE"),
    )

    upload_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    firm_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    client_request_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    question_id: Mapped[str] = mapped_column(String(40))


# -- shares and approvals (documents/shares.py, documents/approvals.py) -----------------------------

from shared.contracts.approvals import APPROVAL_STATUSES, DECIDED_THROUGH  # noqa: E402
from shared.contracts.shares import SHARE_STATUSES  # noqa: E402


class Share(Base):
    """Documents of one account shared with third parties: each recipient has his own row, link and expiry."""

    __tablename__ = "shares"
    __table_args__ = (
        UniqueConstraint("firm_id", "id", name="uq_shares_firm_id"),
        _one_of("status", SHARE_STATUSES, "ck_shares_status"),
        Index("ix_shares_firm_account_created", "firm_id", "account_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    firm_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    account_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    message: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default="active")
    created_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now, onupdate=_now,
                                                 server_default=func.now())
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ShareDocument(Base):
    """One document of a share; deleting the document deletes this row, so it drops out of the share."""

    __tablename__ = "share_documents"
    __table_args__ = (
        ForeignKeyConstraint(["firm_id", "share_id"], ["shares.firm_id", "shares.id"], name="fk_share_documents_share",
                             ondelete="CASCADE"),
        ForeignKeyConstraint(["firm_id", "document_id"], ["documents.firm_id", "documents.id"],
                             name="fk_share_documents_document", ondelete="CASCADE"),
        Index("ix_share_documents_document", "document_id"),
    )

    share_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    document_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    firm_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    position: Mapped[int] = mapped_column(Integer)


class ShareRecipient(Base):
    """One recipient of a share: his link (links kind `share`, target this row), expiry and counters."""

    __tablename__ = "share_recipients"
    __table_args__ = (
        UniqueConstraint("firm_id", "id", name="uq_share_recipients_firm_id"),
        UniqueConstraint("share_id", "email", name="uq_share_recipients_share_email"),
        ForeignKeyConstraint(["firm_id", "share_id"], ["shares.firm_id", "shares.id"],
                             name="fk_share_recipients_share", ondelete="CASCADE"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    firm_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    share_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    email: Mapped[str] = mapped_column(String(254))
    link_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    # Kept here, not on the link: staff extend or shorten it, and the same link must keep working.
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    opens: Mapped[int] = mapped_column(Integer, default=0)
    downloads: Mapped[int] = mapped_column(Integer, default=0)
    opened_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_opened_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_downloaded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now, onupdate=_now,
                                                 server_default=func.now())


class ApprovalRequest(Base):
    """A document sent for approval; deleting the document deletes the request with it."""

    __tablename__ = "approval_requests"
    __table_args__ = (
        UniqueConstraint("firm_id", "id", name="uq_approval_requests_firm_id"),
        ForeignKeyConstraint(["firm_id", "document_id"], ["documents.firm_id", "documents.id"],
                             name="fk_approval_requests_document", ondelete="CASCADE"),
        _one_of("status", APPROVAL_STATUSES, "ck_approval_requests_status"),
        Index("ix_approval_requests_firm_account_created", "firm_id", "account_id", "created_at"),
        Index("ix_approval_requests_document", "document_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    firm_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    account_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    document_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    message: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(12), default="pending")
    created_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now, onupdate=_now,
                                                 server_default=func.now())
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Approver(Base):
    """One approver of a request: his link (links kind `approval`, target this row) and his decision."""

    __tablename__ = "approvers"
    __table_args__ = (
        UniqueConstraint("firm_id", "id", name="uq_approvers_firm_id"),
        UniqueConstraint("approval_request_id", "email", name="uq_approvers_request_email"),
        ForeignKeyConstraint(["firm_id", "approval_request_id"], ["approval_requests.firm_id", "approval_requests.id"],
                             name="fk_approvers_request", ondelete="CASCADE"),
        _one_of("status", APPROVAL_STATUSES, "ck_approvers_status"),
        _one_of("decided_through", DECIDED_THROUGH, "ck_approvers_decided_through"),
        CheckConstraint("(status = 'pending') = (decided_at IS NULL)", name="ck_approvers_decided"),
        Index("ix_approvers_email", "firm_id", "email"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    firm_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    approval_request_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    email: Mapped[str] = mapped_column(String(254))
    link_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    status: Mapped[str] = mapped_column(String(12), default="pending")
    comment: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decided_through: Mapped[str | None] = mapped_column(String(10))
    decided_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))  # the portal user, if any
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now, server_default=func.now())


# -- signature requests (documents/signatures.py) ---------------------------------------------


class SignatureRequest(Base):
    """A request for signatures on a PDF document of an account. The original is never changed: once
    every signer signed, the sealed copy (evidence page + PAdES seal) becomes a new document beside it,
    `signed_document_id`. `expired` is never stored: a pending request whose pending signer's link ran
    out reads as expired (documents/signatures.py)."""

    __tablename__ = "signature_requests"
    __table_args__ = (
        UniqueConstraint("firm_id", "id", name="uq_signature_requests_firm_id"),
        ForeignKeyConstraint(["firm_id", "document_id"], ["documents.firm_id", "documents.id"],
                             name="fk_signature_requests_document", ondelete="CASCADE"),
        _one_of("status", tuple(s for s in SIGNATURE_REQUEST_STATUSES if s != "expired"),
                "ck_signature_requests_status"),
        Index("ix_signature_requests_firm_account_created", "firm_id", "account_id", "created_at"),
        # At most one sealed document per request, whatever the deliveries of the sealing event.
        Index("uq_signature_requests_signed_document", "signed_document_id", unique=True,
              postgresql_where=text("signed_document_id IS NOT NULL")),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    firm_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    account_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    document_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    # The original as it was asked to be signed: its name (for emails and pages) and its digest (evidence).
    document_name: Mapped[str] = mapped_column(String(255))
    original_sha256: Mapped[str] = mapped_column(String(64))
    message: Mapped[str] = mapped_column(Text, default="")
    reminders: Mapped[bool] = mapped_column(Boolean, default=True)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    signed_document_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    created_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now, onupdate=_now,
                                                 server_default=func.now())
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    sealed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    canceled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Signer(Base):
    """One signer of a request: his link (links kind `signature`, target this row, issued retrievable
    by this service; `link_id`) and, once he acted, the evidence of it."""

    __tablename__ = "signers"
    __table_args__ = (
        UniqueConstraint("firm_id", "id", name="uq_signers_firm_id"),
        UniqueConstraint("signature_request_id", "email", name="uq_signers_request_email"),
        ForeignKeyConstraint(["firm_id", "signature_request_id"],
                             ["signature_requests.firm_id", "signature_requests.id"],
                             name="fk_signers_request", ondelete="CASCADE"),
        _one_of("status", SIGNER_STATES, "ck_signers_status"),
        CheckConstraint("(status = 'signed') = (signed_at IS NOT NULL)", name="ck_signers_signed"),
        Index("ix_signers_firm_email", "firm_id", "email"),
        # The reminder timer's claim: pending signers whose next reminder is due.
        Index("ix_signers_next_reminder", "next_reminder_at", postgresql_where=text("next_reminder_at IS NOT NULL")),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    firm_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    signature_request_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254))
    status: Mapped[str] = mapped_column(String(10), default="pending")
    # His live signing link in the links service (its token stays there, sealed); a resend replaces it.
    link_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    # When his newest link stops working: 7 days after it was sent (a resend starts again).
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    next_reminder_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reminders_sent: Mapped[int] = mapped_column(Integer, default=0)
    # The evidence of his signature: what he typed, when, from where, with what, and how he came.
    signed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    signed_name: Mapped[str | None] = mapped_column(String(200))
    signed_address: Mapped[str | None] = mapped_column(String(64))
    signed_user_agent: Mapped[str | None] = mapped_column(String(1000))
    signed_through: Mapped[str | None] = mapped_column(String(10))  # link | portal
    signed_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))  # the portal user, if any
    declined_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decline_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now, onupdate=_now,
                                                 server_default=func.now())
