"""The CRM's own tables: firms, their users (staff and clients), sessions, accounts.

Every tenant-owned row carries `firm_id`; child rows reference their parent through
`(firm_id, id)` so a row can never point into another firm.
"""
from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    String,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from shared.contracts.crm import NOTIFICATION_CATEGORIES
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
    # Moves with every commit that changes who may open what in the firm (triggers, migration 0008);
    # `authenticate` answers it, services key their cached authorisations on it (shared.access).
    access_version: Mapped[int] = mapped_column(BigInteger, server_default="1")


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
    # Invitation links issued before this moment are void (a reinvite, a new address...): crm checks it
    # when a link is accepted, so a revocation holds as soon as its call answers (identity.py).
    invitations_valid_from: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    firm: Mapped[Firm] = relationship(lazy="raise_on_sql", viewonly=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now, server_default=func.now())


# One user per address in a firm; the same address may have a login in any number of firms (login asks
# which firm when one password opens several), so it is looked up across firms too.
Index("uq_users_firm_email", User.firm_id, func.lower(User.email), unique=True)
Index("ix_users_email", func.lower(User.email))


class Session(Base):
    """A bearer token, stored only as its SHA-256; revoked at logout or when the user goes, and refused
    once idle or old for longer than the settings allow (identity.authenticate)."""

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
    # Moved forward by use, at most once a minute (identity.TOUCH_EVERY).
    last_used_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now, server_default=func.now())
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class LoginFailure(Base):
    """Wrong passwords counted for one throttling key: an address, an account (email), or an account from
    one of its known addresses (crm.login_throttle)."""

    __tablename__ = "login_failures"

    key: Mapped[str] = mapped_column(String(400), primary_key=True)
    failures: Mapped[int] = mapped_column()
    last_failure_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class LoginAddress(Base):
    """An address (IPv4, or IPv6 /64) a login of this email succeeded from: its owner's own address."""

    __tablename__ = "login_addresses"

    email: Mapped[str] = mapped_column(String(254), primary_key=True)  # lower-case
    address: Mapped[str] = mapped_column(String(50), primary_key=True)
    last_login_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


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


class Contact(Base):
    """A person. He may have several emails and be linked to several accounts."""

    __tablename__ = "contacts"
    __table_args__ = (
        UniqueConstraint("firm_id", "id", name="uq_contacts_firm_id"),
        Index("ix_contacts_firm_created", "firm_id", "created_at", "id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    firm_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("firms.id", name="fk_contacts_firm"))
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    emails: Mapped[list[ContactEmail]] = relationship(
        order_by="ContactEmail.position", cascade="all, delete-orphan", lazy="selectin")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now, server_default=func.now(),
                                                 onupdate=_now)


class ContactEmail(Base):
    """One address of a contact; within a firm an address belongs to one contact."""

    __tablename__ = "contact_emails"
    __table_args__ = (
        ForeignKeyConstraint(["firm_id", "contact_id"], ["contacts.firm_id", "contacts.id"],
                             name="fk_contact_emails_contact", ondelete="CASCADE"),
        UniqueConstraint("firm_id", "email", name="uq_contact_emails_firm_email"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    firm_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    contact_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    email: Mapped[str] = mapped_column(String(254))  # stored lower-case
    position: Mapped[int] = mapped_column(default=0)


class AccountContact(Base):
    __tablename__ = "account_contacts"
    __table_args__ = (
        ForeignKeyConstraint(["firm_id", "account_id"], ["accounts.firm_id", "accounts.id"],
                             name="fk_account_contacts_account", ondelete="CASCADE"),
        ForeignKeyConstraint(["firm_id", "contact_id"], ["contacts.firm_id", "contacts.id"],
                             name="fk_account_contacts_contact", ondelete="CASCADE"),
    )

    account_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    contact_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    firm_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now, server_default=func.now())


class AccountAssignment(Base):
    """A team member assigned to an account: employees without view_all_accounts see only these."""

    __tablename__ = "account_team"
    __table_args__ = (
        ForeignKeyConstraint(["firm_id", "account_id"], ["accounts.firm_id", "accounts.id"],
                             name="fk_account_team_account", ondelete="CASCADE"),
        ForeignKeyConstraint(["firm_id", "user_id"], ["users.firm_id", "users.id"],
                             name="fk_account_team_user", ondelete="CASCADE"),
        Index("ix_account_team_user", "user_id"),
    )

    account_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    firm_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))


class Job(Base):
    """Work in progress for an account: an internal status and what the portal shows."""

    __tablename__ = "jobs"
    __table_args__ = (
        ForeignKeyConstraint(["firm_id", "account_id"], ["accounts.firm_id", "accounts.id"],
                             name="fk_jobs_account", ondelete="CASCADE"),
        Index("ix_jobs_account_created", "account_id", "created_at", "id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    firm_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    account_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(100))
    client_status: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now, server_default=func.now(),
                                                 onupdate=_now)


class PortalAccess(Base):
    """The LOGIN, NOTIFY and EMAIL SYNC switches of one email on one account, and the invitation's state.

    A row exists once a switch was touched; an email of a linked contact without a row has every
    switch off and status `none`.
    """

    __tablename__ = "portal_access"
    __table_args__ = (
        ForeignKeyConstraint(["firm_id", "account_id"], ["accounts.firm_id", "accounts.id"],
                             name="fk_portal_access_account", ondelete="CASCADE"),
        ForeignKeyConstraint(["firm_id", "user_id"], ["users.firm_id", "users.id"],
                             name="fk_portal_access_user"),
        Index("ix_portal_access_user", "user_id"),
    )

    account_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    email: Mapped[str] = mapped_column(String(254), primary_key=True)
    firm_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    login: Mapped[bool] = mapped_column(Boolean, default=False)
    notify: Mapped[bool] = mapped_column(Boolean, default=False)
    email_sync: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(10), default="none")  # none | invited | active
    user_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    categories: Mapped[dict[str, bool]] = mapped_column(
        JSONB, default=lambda: dict.fromkeys(NOTIFICATION_CATEGORIES, True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now, server_default=func.now(),
                                                 onupdate=_now)


class PortalSettings(Base):
    """What clients may do in the firm's portal; one row per firm, made on its first change (defaults till then)."""

    __tablename__ = "portal_settings"

    firm_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("firms.id", name="fk_portal_settings_firm"),
                                               primary_key=True)
    prepayment: Mapped[bool] = mapped_column(Boolean, default=False)
    done_uploading: Mapped[bool] = mapped_column(Boolean, default=False)
    auto_rename: Mapped[bool] = mapped_column(Boolean, default=False)
    appointments: Mapped[bool] = mapped_column(Boolean, default=False)
    announcement: Mapped[bool] = mapped_column(Boolean, default=False)
    # Clients may start chat threads unless the firm turns it off (TaxDome's default).
    clients_create_chats: Mapped[bool] = mapped_column(Boolean, default=True)
    client_organizers: Mapped[bool] = mapped_column(Boolean, default=False)
    work_in_progress: Mapped[bool] = mapped_column(Boolean, default=False)
    # A client's email about a new chat message shows its content (off: only that one waits).
    chat_email_content: Mapped[bool] = mapped_column(Boolean, default=False)
    announcement_text: Mapped[str] = mapped_column(String(2000), default="")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now, server_default=func.now(),
                                                 onupdate=_now)
