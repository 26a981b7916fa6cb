"""The CRM's own tables: firms, their users (staff and clients), sessions, accounts.

Every tenant-owned row carries `firm_id`; child rows reference their parent through
`(firm_id, id)` so a row can never point into another firm.
"""
from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import (
    ARRAY,
    Boolean,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    String,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from shared.outbox import messaging_tables


def _now() -> datetime:
    """Clock time, not the transaction's start: rows made in one transaction keep their order."""
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


messaging = messaging_tables(Base.metadata)


class Firm(Base):
    __tablename__ = "firms"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now, server_default=func.now())


class User(Base):
    """A person who logs in: staff of a firm (owner, admin, employee) or a client user."""

    __tablename__ = "users"
    __table_args__ = (
        UniqueConstraint("firm_id", "id", name="uq_users_firm_id"),
        Index("ix_users_firm_created", "firm_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    firm_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("firms.id", name="fk_users_firm"))
    kind: Mapped[str] = mapped_column(String(10))  # staff | client
    email: Mapped[str] = mapped_column(String(254))
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(200))
    role: Mapped[str | None] = mapped_column(String(20))  # owner | admin | employee (staff only)
    rights: Mapped[list[str]] = mapped_column(ARRAY(String(40)), default=list)
    status: Mapped[str] = mapped_column(String(20))  # invited | active
    firm: Mapped[Firm] = relationship(lazy="raise_on_sql", viewonly=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now, server_default=func.now())


# One login per address: the login form asks only for email and password.
Index("uq_users_email", func.lower(User.email), unique=True)


class Session(Base):
    """A bearer token, stored only as its SHA-256; revoked at logout or when the user goes."""

    __tablename__ = "sessions"
    __table_args__ = (
        ForeignKeyConstraint(["firm_id", "user_id"], ["users.firm_id", "users.id"], name="fk_sessions_user",
                             ondelete="CASCADE"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    firm_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    user_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now, server_default=func.now())
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Account(Base):
    """A client of the firm: an individual, a family or a company; guests are non-clients."""

    __tablename__ = "accounts"
    __table_args__ = (
        UniqueConstraint("firm_id", "id", name="uq_accounts_firm_id"),
        Index("ix_accounts_firm_created", "firm_id", "created_at", "id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    firm_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("firms.id", name="fk_accounts_firm"))
    name: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(20))  # individual | family | company
    guest: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(),
                                                 onupdate=func.now())
