"""The ledger: every movement of money is one immutable entry, appended here and nowhere else.

Balances and invoice amounts are sums of entries (billing/amounts.py says what they mean); nothing in
the code updates or deletes an entry (tests/unit/test_ledger_code.py reads the code for it) and the
database refuses to (a trigger, migration 0003).

The functions for the payments helper and for staff routes alike:

- `record_payment(session, invoice, amount, ...)`: money received on an invoice.
- `record_credit(session, firm_id, account_id, currency, amount, ...)`: a prepayment, now credit.
- `refund(session, payment, amount, reason, ...)`: part or all of a payment back.
- `apply_credit(session, invoice, ...)`: the account's credit onto an invoice (issuing does it).

Each locks what it reads before deciding (the invoice row, the payment row, the account's credit), so
concurrent calls never pay an invoice twice over nor spend credit twice. Lock order, everywhere: the
idempotency key, the invoice, the payment, the account's credit; so two of them never deadlock.
Plain Python over the caller's session (its transaction); the caller commits.
"""
from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, case, func, select, text
from sqlalchemy.orm import Session

from billing.amounts import (
    InvoiceAmounts,
    check_payment,
    check_refund,
    credit_to_apply,
    payment_refundable,
    status_of,
)
from billing.models import Invoice, LedgerEntry, Payment
from billing.money import exponent_of
from shared.errors import NotFound, ValidationFailed

NO_SUCH_PAYMENT = "No such payment."


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)


def append(session: Session, *, firm_id: uuid.UUID, account_id: uuid.UUID, currency: str, kind: str, amount: int,
           invoice_id: uuid.UUID | None = None, payment_id: uuid.UUID | None = None, memo: str | None = None,
           created_by: uuid.UUID | None = None, now: datetime | None = None) -> LedgerEntry:
    """The one way an entry comes to be. There is no way to change one."""
    if amount <= 0:
        raise ValueError("a ledger entry moves a positive amount")
    entry = LedgerEntry(id=uuid.uuid4(), firm_id=firm_id, account_id=account_id, currency=currency, kind=kind,
                        amount=amount, invoice_id=invoice_id, payment_id=payment_id, memo=memo,
                        created_by=created_by, created_at=_now(now))
    session.add(entry)
    session.flush()  # its sequence, for the reply
    return entry


# -- reading sums ---------------------------------------------------------------------------------------


def invoice_amounts(session: Session, invoice_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, InvoiceAmounts]:
    """Each invoice's amounts, summed from its entries (an invoice without entries: all zero)."""
    ids = list(invoice_ids)
    if not ids:
        return {}
    rows = session.execute(
        select(LedgerEntry.invoice_id, LedgerEntry.kind, func.sum(LedgerEntry.amount))
        .where(LedgerEntry.invoice_id.in_(ids)).group_by(LedgerEntry.invoice_id, LedgerEntry.kind)
    ).all()
    by_invoice: dict[uuid.UUID, list[tuple[str, int]]] = {i: [] for i in ids}
    for invoice_id, kind, amount in rows:
        by_invoice[invoice_id].append((kind, int(amount)))
    return {i: InvoiceAmounts.of(entries) for i, entries in by_invoice.items()}


def amounts_of(session: Session, invoice: Invoice) -> InvoiceAmounts:
    return invoice_amounts(session, [invoice.id])[invoice.id]


def credit_balances(session: Session, firm_id: uuid.UUID, account_id: uuid.UUID) -> dict[str, int]:
    """The account's unapplied credit per currency: credit, less credit applied, less prepayment refunds."""
    signed = func.sum(case((LedgerEntry.kind == "credit", LedgerEntry.amount),
                           (LedgerEntry.kind == "credit_applied", -LedgerEntry.amount),
                           (and_(LedgerEntry.kind == "refund", LedgerEntry.invoice_id.is_(None)), -LedgerEntry.amount),
                           else_=0))
    rows = session.execute(
        select(LedgerEntry.currency, signed)
        .where(LedgerEntry.firm_id == firm_id, LedgerEntry.account_id == account_id,
               LedgerEntry.kind.in_(("credit", "credit_applied", "refund")))
        .group_by(LedgerEntry.currency).order_by(LedgerEntry.currency)
    ).all()
    return {currency: int(amount) for currency, amount in rows}


def refunded_of(session: Session, payment_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, list[LedgerEntry]]:
    """The refund entries of each payment, oldest first."""
    ids = list(payment_ids)
    found: dict[uuid.UUID, list[LedgerEntry]] = {i: [] for i in ids}
    if ids:
        for entry in session.scalars(select(LedgerEntry).where(LedgerEntry.payment_id.in_(ids),
                                                               LedgerEntry.kind == "refund")
                                     .order_by(LedgerEntry.sequence)):
            found[entry.payment_id].append(entry)
    return found


def refundable(session: Session, payment: Payment, refunds: list[LedgerEntry] | None = None) -> int:
    refunds = refunded_of(session, [payment.id])[payment.id] if refunds is None else refunds
    balance = (credit_balances(session, payment.firm_id, payment.account_id).get(payment.currency, 0)
               if payment.invoice_id is None else 0)
    return payment_refundable(payment.amount, sum(r.amount for r in refunds), prepayment=payment.invoice_id is None,
                              credit_balance=balance)


# -- locks ----------------------------------------------------------------------------------------------


def lock_invoice(session: Session, invoice_id: uuid.UUID) -> Invoice:
    """The invoice row, locked until the transaction ends, with what the database holds now."""
    invoice = session.scalars(select(Invoice).where(Invoice.id == invoice_id).with_for_update()
                              .execution_options(populate_existing=True)).one_or_none()
    if invoice is None:
        raise NotFound("No such invoice.")
    return invoice


def lock_credit(session: Session, account_id: uuid.UUID, currency: str) -> None:
    """Serialise everything that spends or adds to one account's credit in one currency (a transaction-level
    advisory lock: released at commit or rollback)."""
    session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
                    {"key": f"billing.credit:{account_id}:{currency}"})


def refresh_status(session: Session, invoice: Invoice, now: datetime | None = None) -> InvoiceAmounts:
    """The invoice's status recomputed from its entries (after an append); reminders stop once nothing is due."""
    amounts = amounts_of(session, invoice)
    status = status_of(invoice.number is not None, amounts)
    if status != invoice.status:
        invoice.status = status
        invoice.updated_at = _now(now)
    if amounts.due <= 0 or status == "void":
        invoice.next_reminder_at = None
    return amounts


# -- money moving ---------------------------------------------------------------------------------------


def _payer(payer: dict[str, Any] | None) -> dict[str, Any] | None:
    if not payer:
        return None
    return {"name": payer.get("name") or None, "email": (payer.get("email") or "").lower() or None}


def record_payment(session: Session, invoice: Invoice, amount: int, method: str, reference: str | None = None,
                   payer: dict[str, Any] | None = None, provider: str = "offline", provider_ref: str | None = None,
                   created_by: uuid.UUID | None = None, now: datetime | None = None) -> Payment:
    """Money received on an invoice: a Payment and its `payment` entry. Refused (nothing written) when the
    invoice takes no money (draft, void, paid: Conflict) or `amount` is more than is due (422).

    A provider's payment already recorded (`provider`, `provider_ref`: a Stripe checkout session reported
    twice) is answered with the first record, not recorded again."""
    if provider_ref is not None:
        earlier = find_by_provider_ref(session, provider, provider_ref)
        if earlier is not None:
            return earlier
    invoice = lock_invoice(session, invoice.id)
    if provider_ref is not None:  # reported twice at once: the second waited for the lock, and finds the first
        earlier = find_by_provider_ref(session, provider, provider_ref)
        if earlier is not None:
            return earlier
    _check_amount(amount)
    check_payment(invoice.status, amounts_of(session, invoice), amount)
    at = _now(now)
    payment = Payment(id=uuid.uuid4(), firm_id=invoice.firm_id, account_id=invoice.account_id, invoice_id=invoice.id,
                      currency=invoice.currency, amount=amount, method=method, reference=reference,
                      provider=provider, provider_ref=provider_ref, payer=_payer(payer), created_by=created_by,
                      created_at=at)
    session.add(payment)
    session.flush()
    append(session, firm_id=invoice.firm_id, account_id=invoice.account_id, currency=invoice.currency, kind="payment",
           amount=amount, invoice_id=invoice.id, payment_id=payment.id, memo=reference, created_by=created_by, now=at)
    refresh_status(session, invoice, at)
    return payment


def record_credit(session: Session, firm_id: uuid.UUID, account_id: uuid.UUID, currency: str, amount: int,
                  method: str, reference: str | None = None, payer: dict[str, Any] | None = None,
                  provider: str = "offline", provider_ref: str | None = None, created_by: uuid.UUID | None = None,
                  now: datetime | None = None) -> Payment:
    """A prepayment: a Payment on no invoice and a `credit` entry; the account's credit in `currency` grows.
    A provider's payment already recorded is answered with the first record."""
    exponent_of(currency)
    _check_amount(amount)
    if provider_ref is not None:
        earlier = find_by_provider_ref(session, provider, provider_ref)
        if earlier is not None:
            return earlier
    lock_credit(session, account_id, currency)
    if provider_ref is not None:
        earlier = find_by_provider_ref(session, provider, provider_ref)
        if earlier is not None:
            return earlier
    at = _now(now)
    payment = Payment(id=uuid.uuid4(), firm_id=firm_id, account_id=account_id, invoice_id=None, currency=currency,
                      amount=amount, method=method, reference=reference, provider=provider,
                      provider_ref=provider_ref, payer=_payer(payer), created_by=created_by, created_at=at)
    session.add(payment)
    session.flush()
    append(session, firm_id=firm_id, account_id=account_id, currency=currency, kind="credit", amount=amount,
           payment_id=payment.id, memo=reference, created_by=created_by, now=at)
    return payment


def apply_credit(session: Session, invoice: Invoice, created_by: uuid.UUID | None = None,
                 now: datetime | None = None) -> int:
    """The account's credit in the invoice's currency, onto the invoice, as far as it goes and no further
    than is due; returns how much. Credit of another account or currency is never touched."""
    invoice = lock_invoice(session, invoice.id)
    lock_credit(session, invoice.account_id, invoice.currency)
    balance = credit_balances(session, invoice.firm_id, invoice.account_id).get(invoice.currency, 0)
    amount = credit_to_apply(balance, amounts_of(session, invoice).due)
    if amount:
        append(session, firm_id=invoice.firm_id, account_id=invoice.account_id, currency=invoice.currency,
               kind="credit_applied", amount=amount, invoice_id=invoice.id, created_by=created_by, now=now,
               memo="Prepaid credit applied")
    refresh_status(session, invoice, now)
    return amount


def refund(session: Session, payment: Payment, amount: int, reason: str | None = None,
           created_by: uuid.UUID | None = None, now: datetime | None = None) -> LedgerEntry:
    """Part or all of a payment back: a `refund` entry. Never more than was paid and not refunded yet; for a
    prepayment never more than the account's unapplied credit (422)."""
    _check_amount(amount)
    invoice = lock_invoice(session, payment.invoice_id) if payment.invoice_id is not None else None
    payment = session.scalars(select(Payment).where(Payment.id == payment.id).with_for_update()
                              .execution_options(populate_existing=True)).one()
    if invoice is None:
        lock_credit(session, payment.account_id, payment.currency)
    check_refund(refundable(session, payment), amount)
    entry = append(session, firm_id=payment.firm_id, account_id=payment.account_id, currency=payment.currency,
                   kind="refund", amount=amount, invoice_id=payment.invoice_id, payment_id=payment.id, memo=reason,
                   created_by=created_by, now=now)
    if invoice is not None:
        refresh_status(session, invoice, now)
    return entry


def _check_amount(amount: Any) -> None:
    # Domain callers (the payments helper's) get the contract's rule too: an integer, never a float or bool.
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise ValidationFailed("An amount is an integer of minor units.", {"amount": ["Not an integer."]})
    if amount < 1:
        raise ValidationFailed("An amount is at least one minor unit.", {"amount": ["Must be at least 1."]})


# -- payments and entries -------------------------------------------------------------------------------


def find_by_provider_ref(session: Session, provider: str, provider_ref: str) -> Payment | None:
    return session.scalars(select(Payment).where(Payment.provider == provider,
                                                 Payment.provider_ref == provider_ref)).one_or_none()


def get_payment(session: Session, firm_id: uuid.UUID, payment_id: uuid.UUID) -> Payment:
    payment = session.get(Payment, payment_id)
    if payment is None or payment.firm_id != firm_id:
        raise NotFound(NO_SUCH_PAYMENT)
    return payment


def payments_of(session: Session, invoice: Invoice) -> list[Payment]:
    """The invoice's payments, newest first."""
    return list(session.scalars(select(Payment).where(Payment.invoice_id == invoice.id)
                                .order_by(Payment.created_at.desc(), Payment.id.desc())))


def entries(session: Session, firm_id: uuid.UUID, account_id: uuid.UUID, limit: int,
            cursor: str | None) -> tuple[list[LedgerEntry], str | None]:
    """One page of the account's entries, oldest first; the cursor is the last entry's sequence."""
    after = 0
    if cursor is not None:
        if not cursor.isdigit() or len(cursor) > 18:
            raise ValidationFailed("The cursor is not one this API issued.", {"cursor": ["Invalid cursor."]})
        after = int(cursor)
    rows = list(session.scalars(
        select(LedgerEntry).where(LedgerEntry.firm_id == firm_id, LedgerEntry.account_id == account_id,
                                  LedgerEntry.sequence > after)
        .order_by(LedgerEntry.sequence).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (str(rows[-1].sequence) if more and rows else None)
