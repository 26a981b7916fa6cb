"""Invoices: drafts, issuing (number, charge, credit), voiding, reading, reminders. Plain domain code, no
nameko; each function gets the caller's session (its transaction), which the caller commits.

Numbers: the firm's `invoice_counters` row is locked (SELECT ... FOR UPDATE) by the issuing transaction
and incremented in it, so numbers are unique per firm, increasing in the order issues commit, and
gapless: an issue that fails rolls its number back with everything else.
"""
from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from billing import ledger
from billing.amounts import InvoiceAmounts, check_void
from billing.models import Invoice, InvoiceCounter, InvoiceItem, Payment
from billing.money import exponent_of
from shared.contracts.billing import MAX_AMOUNT
from shared.errors import Conflict, NotFound, ValidationFailed
from shared.paging import newest_first

NO_SUCH_INVOICE = "No such invoice."
# A reminder of an outstanding invoice goes on its due date, then every REMINDER_INTERVAL while it stays
# unpaid: never more than one a day per invoice (the interval is at least a day), none once paid or void.
REMINDER_INTERVAL = timedelta(days=3)
REMINDER_TIME = time(9, 0, tzinfo=UTC)
# A total beyond this is refused (the sum of many large items): every sum stays far inside a bigint.
MAX_TOTAL = MAX_AMOUNT * 100


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)


def display_number(number: int | None) -> str | None:
    """What the invoice, its PDF and emails show: INV-0001 (padded to four digits, longer once past 9999)."""
    return None if number is None else f"INV-{number:04d}"


def _items(items: list[Mapping[str, Any]]) -> list[InvoiceItem]:
    made = [InvoiceItem(position=n, description=item["description"].strip() or item["description"],
                        quantity=item["quantity"], unit_price=item["unit_price"]) for n, item in enumerate(items)]
    if sum(item.amount for item in made) > MAX_TOTAL:
        raise ValidationFailed("The invoice's total is too large.", {"items": [f"The total is at most {MAX_TOTAL}."]})
    return made


def draft(session: Session, firm_id: uuid.UUID, account_id: uuid.UUID, data: Mapping[str, Any],
          created_by: uuid.UUID, now: datetime | None = None) -> Invoice:
    """A draft of one of the firm's accounts, its items in the given order. A draft has no number and moves
    no money."""
    exponent_of(data["currency"])
    at = _now(now)
    invoice = Invoice(id=uuid.uuid4(), firm_id=firm_id, account_id=account_id, currency=data["currency"],
                      status="draft", due_date=data["due_date"], memo=data.get("memo"), total=0, recipients=[],
                      reminder_count=0, created_by=created_by, created_at=at, updated_at=at,
                      items=_items(data["items"]))
    session.add(invoice)
    session.flush()
    return invoice


def update_draft(session: Session, invoice: Invoice, data: Mapping[str, Any], now: datetime | None = None) -> Invoice:
    """Change a draft's fields; an issued invoice is a 409 (its items are what was charged)."""
    if invoice.status != "draft":
        raise Conflict("Only a draft can be changed.")
    if "currency" in data:
        exponent_of(data["currency"])
        invoice.currency = data["currency"]
    if "due_date" in data:
        invoice.due_date = data["due_date"]
    if "memo" in data:
        invoice.memo = data["memo"]
    if "items" in data:
        invoice.items.clear()
        session.flush()  # the old rows go before the new ones take their positions
        invoice.items.extend(_items(data["items"]))
    invoice.updated_at = _now(now)
    session.flush()
    return invoice


def of_payment(session: Session, payment: Payment) -> Invoice | None:
    """The invoice a payment paid, None for a prepayment (credit)."""
    return session.get(Invoice, payment.invoice_id) if payment.invoice_id else None


def get(session: Session, firm_id: uuid.UUID, invoice_id: uuid.UUID, *, lock: bool = False) -> Invoice:
    """An invoice of this firm; another firm's is as unknown as one that does not exist."""
    query = select(Invoice).where(Invoice.id == invoice_id, Invoice.firm_id == firm_id)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    invoice = session.scalars(query).one_or_none()
    if invoice is None:
        raise NotFound(NO_SUCH_INVOICE)
    return invoice


def next_number(session: Session, firm_id: uuid.UUID) -> int:
    """The firm's next invoice number, its counter row locked until the caller's transaction ends."""
    session.execute(insert(InvoiceCounter).values(firm_id=firm_id, last_number=0)
                    .on_conflict_do_nothing(index_elements=[InvoiceCounter.firm_id]))
    counter = session.scalars(select(InvoiceCounter).where(InvoiceCounter.firm_id == firm_id).with_for_update()
                              .execution_options(populate_existing=True)).one()
    counter.last_number += 1
    return counter.last_number


def first_reminder(due_date: Any) -> datetime:
    return datetime.combine(due_date, REMINDER_TIME)


def issue(session: Session, invoice: Invoice, recipients: Iterable[str], billed_to: str | None = None,
          created_by: uuid.UUID | None = None, now: datetime | None = None) -> Invoice:
    """Issue a draft: its number, its total charged on the ledger, the account's credit applied at once.
    Status `open`, or `paid` when the credit covered it. The pay link is the service's to attach."""
    invoice = ledger.lock_invoice(session, invoice.id)
    if invoice.status != "draft":
        raise Conflict("This invoice was issued already.")
    at = _now(now)
    invoice.number = next_number(session, invoice.firm_id)
    invoice.total = invoice.subtotal
    invoice.issued_at = invoice.updated_at = at
    invoice.recipients = sorted({address.lower() for address in recipients})
    invoice.billed_to = (billed_to or "")[:300] or None
    invoice.next_reminder_at = first_reminder(invoice.due_date)
    invoice.status = "open"
    if invoice.total:
        ledger.append(session, firm_id=invoice.firm_id, account_id=invoice.account_id, currency=invoice.currency,
                      kind="charge", amount=invoice.total, invoice_id=invoice.id, created_by=created_by, now=at,
                      memo=display_number(invoice.number))
    ledger.apply_credit(session, invoice, created_by, at)  # also settles a zero total as paid
    session.flush()
    return invoice


def attach_link(invoice: Invoice, link_id: uuid.UUID) -> None:
    invoice.link_id = link_id


def void(session: Session, invoice: Invoice, created_by: uuid.UUID | None = None,
         now: datetime | None = None) -> Invoice:
    """Void an issued invoice nothing was paid on: its charge reversed (a `void` entry), no more reminders,
    its pay link kept: the pay page says the invoice was voided."""
    invoice = ledger.lock_invoice(session, invoice.id)
    check_void(invoice.status)
    at = _now(now)
    if invoice.total:
        ledger.append(session, firm_id=invoice.firm_id, account_id=invoice.account_id, currency=invoice.currency,
                      kind="void", amount=invoice.total, invoice_id=invoice.id, created_by=created_by, now=at,
                      memo=display_number(invoice.number))
    invoice.status = "void"
    invoice.voided_at = invoice.updated_at = at
    invoice.next_reminder_at = None
    session.flush()
    return invoice


def list_for_account(session: Session, firm_id: uuid.UUID, account_id: uuid.UUID, status: str | None, limit: int,
                     cursor: str | None) -> tuple[list[Invoice], str | None]:
    query = select(Invoice).where(Invoice.firm_id == firm_id, Invoice.account_id == account_id)
    if status is not None:
        query = query.where(Invoice.status == status)
    return newest_first(session, query, Invoice, limit, cursor)


def as_fields(invoice: Invoice, amounts: InvoiceAmounts, url: str | None = None) -> dict[str, Any]:
    """The invoice as InvoiceSchema dumps it: its amounts summed from the ledger."""
    total = invoice.total if invoice.number is not None else invoice.subtotal
    return {
        "id": invoice.id, "account_id": invoice.account_id, "number": invoice.number,
        "display_number": display_number(invoice.number), "status": invoice.status, "currency": invoice.currency,
        "exponent": exponent_of(invoice.currency),
        "items": [{"description": i.description, "quantity": i.quantity, "unit_price": i.unit_price,
                   "amount": i.amount} for i in invoice.items],
        "subtotal": invoice.subtotal, "total": total, "amount_paid": amounts.paid,
        "amount_refunded": amounts.refunded, "credit_applied": amounts.credit_applied,
        "amount_due": max(amounts.due, 0) if invoice.number is not None else total,
        "due_date": invoice.due_date, "memo": invoice.memo, "url": url, "link_id": invoice.link_id,
        "created_by": invoice.created_by, "created_at": invoice.created_at, "updated_at": invoice.updated_at,
        "issued_at": invoice.issued_at, "voided_at": invoice.voided_at,
    }


def payable(invoice: Invoice, amounts: InvoiceAmounts) -> bool:
    """It still takes money: issued, not void, something due."""
    return invoice.number is not None and invoice.status != "void" and amounts.due > 0


@dataclass(frozen=True)
class Reminder:
    invoice: Invoice
    reminder_count: int


def claim_reminders(session: Session, now: datetime | None = None, limit: int = 50) -> list[Reminder]:
    """The outstanding invoices whose reminder is due at `now` (injectable, for tests), each moved to its
    next reminder REMINDER_INTERVAL later. Rows another instance is claiming are skipped (FOR UPDATE SKIP
    LOCKED), so two instances never remind twice; the caller emits the reminders and commits."""
    at = _now(now)
    due = list(session.scalars(
        select(Invoice).where(Invoice.next_reminder_at <= at, Invoice.status.in_(
            ("open", "partially_paid", "partially_refunded", "refunded")))
        .order_by(Invoice.next_reminder_at).limit(limit).with_for_update(skip_locked=True)))
    claimed = []
    for invoice in due:
        if ledger.amounts_of(session, invoice).due <= 0:
            invoice.next_reminder_at = None
            continue
        invoice.reminder_count += 1
        # Never sooner than a day after this one, however late the sweep ran (the daily cap).
        invoice.next_reminder_at = at + max(REMINDER_INTERVAL, timedelta(days=1))
        claimed.append(Reminder(invoice, invoice.reminder_count))
    session.flush()
    return claimed
