"""The notifications service's own tables: the messaging tables, every email it was asked to send (or
chose not to), the activity feed and the staff's Inbox+."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Boolean, CheckConstraint, DateTime, Index, Integer, String, Text, UniqueConstraint, func, text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.outbox import messaging_tables


def _now() -> datetime:
    """Clock time, not the transaction's start: rows made in one transaction keep their order."""
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


messaging = messaging_tables(Base.metadata)


class SentEmail(Base):
    """One email the service accepted: queued until SMTP takes it (`sent`) or it gives up (`failed`); or
    one it decided not to send (`suppressed`, with its `reason`), recorded so the firm can see why.

    The rendered body is never stored: links in it carry tokens. While the email is queued,
    `pending_context` keeps the template variables needed to render it again on a retry (the
    tokens included); it is cleared as soon as the email is sent or has failed for good.
    """

    __tablename__ = "sent_emails"
    __table_args__ = (
        CheckConstraint("status IN ('queued', 'sent', 'failed', 'suppressed')", name="ck_sent_emails_status"),
        Index("ix_sent_emails_firm_created", "firm_id", "created_at", "id"),
        # What the sweep reads: queued rows in the order they fall due.
        Index("ix_sent_emails_due", "next_attempt_at", postgresql_where=text("status = 'queued'")),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    firm_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    template: Mapped[str] = mapped_column(String(100))
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default="queued")  # queued | sent | failed | suppressed
    # Why a suppressed email was not sent (audience.Decision.reason, or `link_unavailable`).
    reason: Mapped[str | None] = mapped_column(String(100))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Queued rows: when the next attempt may start (also the lease of an attempt under way).
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)
    pending_context: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    # The Message-ID header, chosen once when queued, so a resend carries the same one.
    message_id: Mapped[str] = mapped_column(String(250))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now, server_default=func.now())
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Activity(Base):
    """One entry of a firm's activity feed: one event another service emitted, as it was received.

    `id` is the event's id, so an event can never make two entries. `created_at` is when this service
    recorded it and orders the feed (keyset paging on it never misses an entry that arrives late);
    `occurred_at` is when the change committed in the emitting service.
    """

    __tablename__ = "activity"
    __table_args__ = (
        Index("ix_activity_firm_created", "firm_id", "created_at", "id"),
        Index("ix_activity_firm_account_created", "firm_id", "account_id", "created_at", "id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    firm_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    account_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    # Who did it, when the event says (None: the system, or a public page such as an invitation).
    actor_user_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    event_type: Mapped[str] = mapped_column(String(100))
    source: Mapped[str] = mapped_column(String(50))  # the emitting service
    summary: Mapped[str] = mapped_column(String(500))
    data: Mapped[dict[str, Any]] = mapped_column(JSONB)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now, server_default=func.now())


class InboxItem(Base):
    """One entry of a staff member's Inbox+: one subject (a file request, an account's uploads) for one
    recipient. A later event about the same subject updates the item (its counters, title and body)
    and makes it unread again, so a busy file request is one line, not one line per file.

    `updated_at` orders the inbox (newest activity first); `count` is the number the title states
    (files received so far) and `event_count` how many events the item folds together.
    """

    __tablename__ = "inbox_items"
    __table_args__ = (
        UniqueConstraint("user_id", "subject_type", "subject_id", name="uq_inbox_items_recipient_subject"),
        Index("ix_inbox_items_recipient_updated", "firm_id", "user_id", "updated_at", "id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    firm_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    user_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))  # the staff member it is for
    account_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    subject_type: Mapped[str] = mapped_column(String(50))  # file_request | account_uploads
    subject_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(String(1000))
    count: Mapped[int] = mapped_column(Integer, default=0)
    event_count: Mapped[int] = mapped_column(Integer, default=0)
    # What the title and body are made from, and what a client needs to link to the subject.
    data: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    unread: Mapped[bool] = mapped_column(Boolean, default=True)
    read_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now, server_default=func.now())
