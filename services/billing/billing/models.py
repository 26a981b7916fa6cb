"""The billing service's tables: invoices and their items, the per-firm invoice counter, payments, the
append-only ledger and the idempotency keys of money-moving writes.

What an invoice has been paid, refunded or credited is never stored on the invoice: it is summed from
`ledger_entries` (billing/ledger.py). The invoice's `status` is a projection of those sums, kept for
listing by status, and recomputed in the transaction that appends an entry.
"""
from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from shared.contracts.billing import INVOICE_STATUSES, LEDGER_KINDS, PAYMENT_METHODS, PROVIDERS
from shared.outbox import messaging_tables


def _now() -> datetime:
    return datetime.now(UTC)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Base(DeclarativeBase):
    pass


messaging = messaging_tables(Base.metadata)


class Invoice(Base):
    __tablename__ = "invoices"
    __table_args__ = (
        CheckConstraint(_in("status", INVOICE_STATUSES), name="ck_invoices_status"),
        # Numbers are unique per firm; a draft has none.
        UniqueConstraint("firm_id", "number", name="uq_invoices_firm_number"),
        Index("ix_invoices_firm_account", "firm_id", "account_id", "created_at"),
        Index("ix_invoices_reminder_due", "next_reminder_at", postgresql_where="next_reminder_at IS NOT NULL"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    firm_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    account_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))  # crm's account; no foreign key across services
    number: Mapped[int | None] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(20), default="draft")
    due_date: Mapped[date] = mapped_column(Date)
    memo: Mapped[str | None] = mapped_column(Text)
    # The sum of the items, fixed when issued (items of an issued invoice never change).
    total: Mapped[int] = mapped_column(BigInteger, default=0)
    link_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    # Whom it bills, as the account was named when it was issued (what the PDF and the emails say).
    billed_to: Mapped[str | None] = mapped_column(String(300))
    # The client addresses its emails go to, decided when it was issued (crm's access rows of the account).
    recipients: Mapped[list[str]] = mapped_column(JSONB, default=list)
    next_reminder_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reminder_count: Mapped[int] = mapped_column(Integer, default=0)
    created_by: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now, server_default=func.now())
    issued_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    voided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    items: Mapped[list[InvoiceItem]] = relationship(order_by="InvoiceItem.position", lazy="selectin",
                                                    cascade="all, delete-orphan")

    @property
    def subtotal(self) -> int:
        return sum(item.amount for item in self.items)


class InvoiceItem(Base):
    __tablename__ = "invoice_lines"

    invoice_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("invoices.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    description: Mapped[str] = mapped_column(String(500))
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price: Mapped[int] = mapped_column(BigInteger)  # minor units of the invoice's currency

    @property
    def amount(self) -> int:
        return self.quantity * self.unit_price


class InvoiceCounter(Base):
    """The firm's last invoice number. Issuing locks this row (SELECT ... FOR UPDATE) in its transaction, so
    concurrent issues take numbers one after another and a rolled-back issue gives its number back."""

    __tablename__ = "invoice_counters"

    firm_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    last_number: Mapped[int] = mapped_column(Integer, default=0)


class Payment(Base):
    """Money received: on an invoice, or ahead of any invoice (a prepayment: `invoice_id` null, it became
    credit). A fact, never changed: what was refunded of it is in the ledger."""

    __tablename__ = "payments"
    __table_args__ = (
        CheckConstraint("amount > 0", name="ck_payments_amount"),
        CheckConstraint(_in("method", PAYMENT_METHODS), name="ck_payments_method"),
        CheckConstraint(_in("provider", PROVIDERS), name="ck_payments_provider"),
        # A provider's payment (a Stripe checkout session) is recorded once, however often it is reported.
        UniqueConstraint("provider", "provider_ref", name="uq_payments_provider_ref"),
        Index("ix_payments_invoice", "invoice_id", "created_at"),
        Index("ix_payments_firm_account", "firm_id", "account_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    firm_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    account_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    invoice_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("invoices.id"))
    currency: Mapped[str] = mapped_column(String(3))
    amount: Mapped[int] = mapped_column(BigInteger)
    method: Mapped[str] = mapped_column(String(20))
    reference: Mapped[str | None] = mapped_column(String(200))
    provider: Mapped[str] = mapped_column(String(20), default="offline")
    provider_ref: Mapped[str | None] = mapped_column(String(255))
    payer: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    created_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now, server_default=func.now())


class LedgerEntry(Base):
    """One movement of money, immutable: the database refuses UPDATE and DELETE on this table (a trigger,
    migration 0003), and no code issues either. `amount` is positive; `kind` says which way it moves."""

    __tablename__ = "ledger_entries"
    __table_args__ = (
        CheckConstraint("amount > 0", name="ck_ledger_entries_amount"),
        CheckConstraint(_in("kind", LEDGER_KINDS), name="ck_ledger_entries_kind"),
        Index("ix_ledger_entries_account", "firm_id", "account_id", "sequence"),
        Index("ix_ledger_entries_invoice", "invoice_id"),
        Index("ix_ledger_entries_payment", "payment_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    # The order entries were appended in (oldest first): from a sequence, never reused.
    sequence: Mapped[int] = mapped_column(BigInteger, Identity(always=True), unique=True)
    firm_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    account_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    currency: Mapped[str] = mapped_column(String(3))
    kind: Mapped[str] = mapped_column(String(20))
    amount: Mapped[int] = mapped_column(BigInteger)
    invoice_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("invoices.id"))
    payment_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("payments.id"))
    memo: Mapped[str | None] = mapped_column(String(500))
    created_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now, server_default=func.now())


class IdempotencyKey(Base):
    """One client-chosen key of a firm: what the first request with it was (its fingerprint) and its answer.
    Inserted in the transaction of the write it guards, so the key and the effect commit together."""

    __tablename__ = "idempotency_keys"

    firm_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    response: Mapped[Any | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now, server_default=func.now())


# -- payment providers (billing/payments.py, migration 0004) ---------------------------------------------


class PaymentSettings(Base):
    """A firm's payment provider: `test` (only while PORTA_PAYMENTS_TEST_MODE is on) or `stripe` with the
    firm's keys, sealed (billing/providers/sealing.py) and never returned. No row: the installation's default."""

    __tablename__ = "payment_settings"
    __table_args__ = (CheckConstraint(_in("provider", ("test", "stripe")), name="ck_payment_settings_provider"),)

    firm_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    provider: Mapped[str] = mapped_column(String(20))
    stripe_secret_key: Mapped[str | None] = mapped_column(Text)  # sealed
    stripe_webhook_secret: Mapped[str | None] = mapped_column(Text)  # sealed
    updated_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now, server_default=func.now())


class CheckoutSession(Base):
    """A payment started on a provider's own page (a Stripe Checkout Session): nothing is recorded until the
    provider's signed notice says it was paid; then `payment_id` names the one Payment it became."""

    __tablename__ = "checkout_sessions"
    __table_args__ = (
        CheckConstraint("amount > 0", name="ck_checkout_sessions_amount"),
        CheckConstraint(_in("status", ("open", "completed")), name="ck_checkout_sessions_status"),
        UniqueConstraint("provider", "session_id", name="uq_checkout_sessions_session"),
        UniqueConstraint("event_id", name="uq_checkout_sessions_event"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    firm_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    account_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    invoice_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("invoices.id"))  # null: a prepayment
    currency: Mapped[str] = mapped_column(String(3))
    amount: Mapped[int] = mapped_column(BigInteger)
    provider: Mapped[str] = mapped_column(String(20))
    session_id: Mapped[str] = mapped_column(String(255))
    checkout_url: Mapped[str] = mapped_column(Text)
    payer: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    status: Mapped[str] = mapped_column(String(20), default="open")
    event_id: Mapped[str | None] = mapped_column(String(255))  # the provider's notice that completed it
    payment_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("payments.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now, server_default=func.now())
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
