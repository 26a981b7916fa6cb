"""The chats service's own tables: threads, their messages, attached documents, client tasks, and the
firm's chat templates. Accounts, users, jobs and documents belong to other services: their ids are kept
without foreign keys (no service reads another's tables)."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, DateTime, ForeignKey, Index, Integer, String, Text, func, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.contracts.chats import (
    REMINDER_COUNT_DEFAULT,
    REMINDER_DAYS_DEFAULT,
    SUBJECT_MAX,
    TASK_TITLE_MAX,
    TEMPLATE_NAME_MAX,
)
from shared.outbox import messaging_tables


def _now() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


messaging = messaging_tables(Base.metadata)


class Thread(Base):
    """A conversation between a firm and one of its client accounts, with its reminder schedule."""

    __tablename__ = "threads"
    __table_args__ = (
        Index("ix_threads_firm_account", "firm_id", "account_id", "created_at"),
        # The scheduler's claim: due rows only, oldest due first.
        Index("ix_threads_reminder_due", "reminder_next_at", postgresql_where=text("reminder_next_at IS NOT NULL")),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    firm_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    account_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))  # crm's account; no foreign key across services
    subject: Mapped[str] = mapped_column(String(SUBJECT_MAX))
    created_by: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    created_by_kind: Mapped[str] = mapped_column(String(10), server_default="staff")
    created_by_name: Mapped[str] = mapped_column(String(200), server_default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now, server_default=func.now())
    archived_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    job_ids: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(UUID(as_uuid=True)), default=list,
                                                     server_default="{}")
    last_message_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    last_message_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), nullable=True)
    last_message_by: Mapped[str | None] = mapped_column(String(10), nullable=True)  # `staff` or `client`
    reminders_enabled: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    reminder_days: Mapped[int] = mapped_column(Integer, default=REMINDER_DAYS_DEFAULT,
                                               server_default=str(REMINDER_DAYS_DEFAULT))
    reminder_count: Mapped[int] = mapped_column(Integer, default=REMINDER_COUNT_DEFAULT,
                                                server_default=str(REMINDER_COUNT_DEFAULT))
    reminders_sent: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    reminder_next_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    @property
    def archived(self) -> bool:
        return self.archived_at is not None


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (Index("ix_messages_thread", "thread_id", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    thread_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("threads.id", ondelete="CASCADE"))
    firm_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    account_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    author_kind: Mapped[str] = mapped_column(String(10))
    author_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    author_name: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    mentions: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list, server_default="[]")
    document_ids: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(UUID(as_uuid=True)), default=list,
                                                          server_default="{}")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    read_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    @property
    def author(self) -> dict[str, Any]:
        return {"kind": self.author_kind, "id": self.author_id, "name": self.author_name}


class ThreadDocument(Base):
    """A document attached to a message: a row of the thread's Documents tab. What documents said of it
    (name, size, type) is kept so the tab lists without asking documents; a renamed one is followed."""

    __tablename__ = "thread_documents"
    __table_args__ = (Index("ix_thread_documents_thread", "thread_id", "created_at"),
                      Index("ix_thread_documents_document", "document_id"))

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    thread_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("threads.id", ondelete="CASCADE"))
    message_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("messages.id", ondelete="CASCADE"))
    firm_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    document_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    name: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(BigInteger)
    content_type: Mapped[str] = mapped_column(String(255))
    author_kind: Mapped[str] = mapped_column(String(10))
    author_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    author_name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)

    @property
    def attached_by(self) -> dict[str, Any]:
        return {"kind": self.author_kind, "id": self.author_id, "name": self.author_name}

    @property
    def attached_at(self) -> datetime:
        return self.created_at


class Task(Base):
    """A client task: one line of a thread's checklist."""

    __tablename__ = "tasks"
    __table_args__ = (Index("ix_tasks_thread", "thread_id", "created_at"),
                      Index("ix_tasks_firm", "firm_id", "created_at"))

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    thread_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("threads.id", ondelete="CASCADE"))
    firm_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    account_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    title: Mapped[str] = mapped_column(String(TASK_TITLE_MAX))
    done: Mapped[bool] = mapped_column(Boolean, default=False)
    done_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    done_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)


class Template(Base):
    """A firm's chat template: subject, body (with shortcodes), tasks and reminders for a new thread."""

    __tablename__ = "chat_templates"
    __table_args__ = (Index("ix_chat_templates_firm", "firm_id", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    firm_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    name: Mapped[str] = mapped_column(String(TEMPLATE_NAME_MAX))
    subject: Mapped[str] = mapped_column(String(SUBJECT_MAX))
    body: Mapped[str] = mapped_column(Text)
    tasks: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    reminders: Mapped[dict[str, Any] | None] = mapped_column(JSONB, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)


class BulkJob(Base):
    """A bulk message: one thread per account, made in batches in the background (chats/bulk.py)."""

    __tablename__ = "bulk_jobs"
    __table_args__ = (Index("ix_bulk_jobs_firm", "firm_id", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    firm_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    created_by: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    subject: Mapped[str | None] = mapped_column(String(SUBJECT_MAX), nullable=True)
    body: Mapped[str | None] = mapped_column(Text, nullable=True)
    template_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), nullable=True)
    total: Mapped[int] = mapped_column(Integer)
    done: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    failed: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class BulkItem(Base):
    """One account of a bulk job: `pending` until its thread is made (`done`, with the thread) or refused
    (`failed`, with why), in the same transaction as that thread. Its primary key is (job, account), so no
    account ever gets two threads from one job, whatever is redelivered or retried."""

    __tablename__ = "bulk_items"
    __table_args__ = (Index("ix_bulk_items_batch", "job_id", "batch"),)

    job_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("bulk_jobs.id", ondelete="CASCADE"),
                                              primary_key=True)
    account_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    batch: Mapped[int] = mapped_column(Integer)
    position: Mapped[int] = mapped_column(Integer)  # the order the request named the accounts in
    status: Mapped[str] = mapped_column(String(10), default="pending", server_default="pending")
    thread_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), nullable=True)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
