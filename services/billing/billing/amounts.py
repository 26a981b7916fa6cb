"""What an invoice's ledger entries add up to, and the rules money must follow. Pure: no database.

An invoice's amounts are sums of its entries: `charge` (its total, when issued), `payment`,
`credit_applied`, `refund` and `void` (the charge reversed). Its status follows from them:

    draft                  not issued
    void                   voided (nothing had been paid or applied)
    refunded               something was paid and all of it went back
    partially_refunded     some of what was paid went back
    paid                   payments and credit cover the total
    partially_paid         some, not all
    open                   nothing yet

A refund gives money back; it does not make the invoice owed again (amount_due stays what it was).
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from shared.errors import Conflict, ValidationFailed


@dataclass(frozen=True)
class InvoiceAmounts:
    charged: int = 0
    paid: int = 0
    credit_applied: int = 0
    refunded: int = 0
    voided: int = 0

    @classmethod
    def of(cls, entries: Iterable[tuple[str, int]]) -> InvoiceAmounts:
        """From an invoice's entries as (kind, amount)."""
        sums = {"charge": 0, "payment": 0, "credit_applied": 0, "refund": 0, "void": 0}
        for kind, amount in entries:
            if kind in sums:
                sums[kind] += amount
        return cls(charged=sums["charge"], paid=sums["payment"], credit_applied=sums["credit_applied"],
                   refunded=sums["refund"], voided=sums["void"])

    @property
    def settled(self) -> int:
        """What payments and credit have covered."""
        return self.paid + self.credit_applied

    @property
    def due(self) -> int:
        return self.charged - self.voided - self.settled


def status_of(issued: bool, amounts: InvoiceAmounts) -> str:
    if not issued:
        return "draft"
    if amounts.voided:
        return "void"
    if amounts.refunded:
        return "refunded" if amounts.refunded >= amounts.paid else "partially_refunded"
    if amounts.due <= 0:
        return "paid"
    return "partially_paid" if amounts.settled else "open"


def check_payment(status: str, amounts: InvoiceAmounts, amount: int) -> None:
    """A payment of `amount` may be recorded: the invoice takes money and it is no more than is due."""
    if status == "draft":
        raise Conflict("A draft takes no payment: issue it first.")
    if status == "void":
        raise Conflict("This invoice is void: it takes no payment.")
    if amounts.due <= 0:
        raise Conflict("This invoice is paid: it takes no more payments.")
    if amount < 1:
        raise ValidationFailed("A payment is at least one minor unit.", {"amount": ["Must be at least 1."]})
    if amount > amounts.due:
        raise ValidationFailed(f"More than is due ({amounts.due}).",
                               {"amount": [f"At most the amount due, {amounts.due}."]})


def check_refund(refundable: int, amount: int) -> None:
    if amount < 1:
        raise ValidationFailed("A refund is at least one minor unit.", {"amount": ["Must be at least 1."]})
    if amount > refundable:
        raise ValidationFailed(f"More than may be refunded ({refundable}).",
                               {"amount": [f"At most what was paid and not yet refunded, {refundable}."]})


def payment_refundable(amount: int, refunded: int, *, prepayment: bool, credit_balance: int) -> int:
    """What a refund of a payment may still give back: what was paid less what went back already; for a
    prepayment also no more than the account's unapplied credit in its currency (applied credit paid an
    invoice and is no longer the client's to take back)."""
    left = max(amount - refunded, 0)
    return min(left, max(credit_balance, 0)) if prepayment else left


def credit_to_apply(balance: int, due: int) -> int:
    """How much of the account's credit an invoice takes when issued: all it needs, as far as it goes."""
    return max(min(balance, due), 0)


def check_void(status: str) -> None:
    if status == "void":
        raise Conflict("This invoice is void already.")
    if status != "open":
        raise Conflict("Only an issued invoice with nothing paid on it can be voided.")


def credit_balance(entries: Iterable[tuple[str, int, bool]]) -> int:
    """An account's credit in one currency from its entries as (kind, amount, on_an_invoice): credit
    received, less credit applied to invoices, less refunds of prepayments (refunds not on an invoice)."""
    balance = 0
    for kind, amount, on_invoice in entries:
        if kind == "credit":
            balance += amount
        elif kind == "credit_applied":
            balance -= amount
        elif kind == "refund" and not on_invoice:
            balance -= amount
    return balance
