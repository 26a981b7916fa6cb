"""The links service's own tables: public link tokens and wrong guesses per client address.

A link is the right to do one thing (`kind`) to one resource of one firm (`target`) without
logging in. Links are looked up by the SHA-256 of their token; the raw token exists in the reply to
`issue_link` and in the URL sent to its holder, never here in clear. A link issued `retrievable`
(a file request whose URL staff copy again later) also keeps its token sealed: Fernet-encrypted
with the server's key (links.sealing), which the database does not hold.
"""
from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Boolean, CheckConstraint, DateTime, Index, Integer, String, Text, func
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.contracts.links import KINDS
from shared.outbox import messaging_tables


def _now() -> datetime:
    """Clock time, not the transaction's start: rows made in one transaction keep their order."""
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


messaging = messaging_tables(Base.metadata)


class Link(Base):
    """One public link. Live while not revoked, not expired and (if single-use) not used."""

    __tablename__ = "links"
    __table_args__ = (
        CheckConstraint(f"kind IN ({', '.join(repr(k) for k in KINDS)})", name="ck_links_kind"),
        # Revoking a target's links and `replace=True` look links up by (firm, target[, kind]).
        Index("ix_links_firm_target", "firm_id", "target", "kind"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    firm_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    kind: Mapped[str] = mapped_column(String(20))
    target: Mapped[dict[str, Any]] = mapped_column(JSONB)  # {"type": "user", "id": "..."}
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 hex of the token
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now, server_default=func.now())
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    single_use: Mapped[bool] = mapped_column(Boolean)
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The token sealed with the server's key (links.sealing) when issued retrievable; None otherwise.
    sealed_token: Mapped[str | None] = mapped_column(Text)
    # What the link's public page shows, given by its owning service at issue (a file request's message and
    # limits) so the page answers from this row alone; None: the gateway asks the owning service.
    view: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    # The owning service's time of the change the view last took in (None: as issued); older changes are dropped.
    view_as_of: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class FirmName(Base):
    """A firm's name as its public pages show it, from crm's events (links.views)."""

    __tablename__ = "firm_names"

    firm_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    name: Mapped[str] = mapped_column(Text)


class FailedAttempt(Base):
    """Wrong tokens from one client address (an IPv4 address or an IPv6 /64): one row per address,
    shared by every instance of the service. See links.throttle for the rule."""

    __tablename__ = "failed_attempts"
    __table_args__ = (Index("ix_failed_attempts_last_failure", "last_failure_at"),)

    address: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    last_failure_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
