"""The chats service's own tables: threads (messages, tasks and reminders come with the chats issue)."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import DateTime, Index, String, func
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.contracts.chats import SUBJECT_MAX
from shared.outbox import messaging_tables


def _now() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


messaging = messaging_tables(Base.metadata)


class Thread(Base):
    """A conversation between a firm and one of its client accounts."""

    __tablename__ = "threads"
    __table_args__ = (Index("ix_threads_firm_account", "firm_id", "account_id", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    firm_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    account_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))  # crm's account; no foreign key across services
    subject: Mapped[str] = mapped_column(String(SUBJECT_MAX))
    created_by: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now, server_default=func.now())
