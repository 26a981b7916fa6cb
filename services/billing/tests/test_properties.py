"""Property-based (hypothesis): random sequences of issues, payments, credits, refunds and voids, through the
domain over PostgreSQL (many) and through the running service over RPC (fewer); every invariant is
checked after each step (from the raw rows, not through billing/ledger.py's sums), and each step is accepted
exactly when the rules allow it. The invariants:

1. An invoice is never paid beyond its total: payments + credit applied <= charged - voided.
2. Refunds never exceed what was paid: per payment, refunds <= its amount.
3. Credit never goes below zero, nor crosses accounts or currencies: every entry has its invoice's and its
   payment's account and currency.
4. The entries explain every balance: the amounts billing reports (invoices, credit) are the raw sums, and
   each invoice's status is the one its sums call for.
5. Invoice numbers of a firm are 1..n, each once.
"""
from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import date
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from billing import invoices, ledger
from billing.models import Invoice, LedgerEntry, Payment
from shared.errors import Conflict, ValidationFailed

# -- the invariants, from the raw rows -------------------------------------------------------------


def raw_state(session: Session, firm_id: uuid.UUID) -> dict[str, Any]:
    invoices = {i.id: i for i in session.scalars(select(Invoice).where(Invoice.firm_id == firm_id))}
    payments = {p.id: p for p in session.scalars(select(Payment).where(Payment.firm_id == firm_id))}
    entries = list(session.scalars(select(LedgerEntry).where(LedgerEntry.firm_id == firm_id)
                                   .order_by(LedgerEntry.sequence)))
    return {"invoices": invoices, "payments": payments, "entries": entries}


def expected_amounts(state: dict[str, Any]) -> dict[str, Any]:
    """Per invoice {charged, voided, paid, credit_applied, refunded}; per payment refunded; per (account,
    currency) credit — summed here from the entries."""
    per_invoice: dict[uuid.UUID, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    per_payment: dict[uuid.UUID, int] = defaultdict(int)
    credit: dict[tuple[uuid.UUID, str], int] = defaultdict(int)
    for e in state["entries"]:
        if e.invoice_id is not None:
            per_invoice[e.invoice_id][e.kind] += e.amount
        if e.kind == "refund":
            per_payment[e.payment_id] += e.amount
        if e.kind == "credit":
            credit[(e.account_id, e.currency)] += e.amount
        elif e.kind == "credit_applied" or (e.kind == "refund" and e.invoice_id is None):
            credit[(e.account_id, e.currency)] -= e.amount
    return {"invoices": per_invoice, "payments": per_payment, "credit": credit}


def check(state: dict[str, Any], reported_invoices: dict[uuid.UUID, dict[str, Any]],
          reported_credit: dict[tuple[uuid.UUID, str], int]) -> None:
    """`reported_invoices`: invoice id -> InvoiceSchema's fields as billing answers them; `reported_credit`:
    (account, currency) -> the balance billing answers."""
    sums = expected_amounts(state)
    invoices, payments = state["invoices"], state["payments"]
    for e in state["entries"]:
        assert e.amount > 0
        if e.invoice_id is not None:
            invoice = invoices[e.invoice_id]
            assert (e.account_id, e.currency) == (invoice.account_id, invoice.currency), "entry crosses an invoice"
        if e.payment_id is not None:
            payment = payments[e.payment_id]
            assert (e.account_id, e.currency) == (payment.account_id, payment.currency), "entry crosses a payment"
    for invoice_id, invoice in invoices.items():
        s = sums["invoices"][invoice_id]
        settled = s["payment"] + s["credit_applied"]
        assert settled <= s["charge"], "paid beyond its total"
        if s["void"]:
            assert settled == 0 and s["void"] == s["charge"], "a void invoice had money on it"
        if invoice.number is not None:
            assert s["charge"] == invoice.total
        report = reported_invoices.get(invoice_id)
        if report is not None:
            assert report["amount_paid"] == s["payment"]
            assert report["credit_applied"] == s["credit_applied"]
            assert report["amount_refunded"] == s["refund"]
            if invoice.number is not None:
                due = 0 if s["void"] else s["charge"] - settled
                assert report["amount_due"] == due
                assert report["status"] == _status(s, due)
    for payment_id, payment in payments.items():
        assert sums["payments"][payment_id] <= payment.amount, "refunded beyond what was paid"
    for key, balance in sums["credit"].items():
        assert balance >= 0, "credit below zero"
        assert reported_credit.get(key, 0) == balance
    numbers = sorted(i.number for i in invoices.values() if i.number is not None)
    assert numbers == list(range(1, len(numbers) + 1)), "numbers are not gapless"


def _status(s: dict[str, int], due: int) -> str:
    if s["void"]:
        return "void"
    if s["refund"]:
        return "refunded" if s["refund"] >= s["payment"] else "partially_refunded"
    if due <= 0:
        return "paid"
    return "partially_paid" if s["payment"] + s["credit_applied"] else "open"


# -- the sequences --------------------------------------------------------------------------------------

ACCOUNTS = 2
CURRENCIES = ("EUR", "JPY")
amounts = st.integers(min_value=1, max_value=5000)
steps = st.lists(st.one_of(
    st.tuples(st.just("issue"), st.integers(0, ACCOUNTS - 1), st.integers(0, len(CURRENCIES) - 1),
              st.integers(0, 5000)),
    st.tuples(st.just("pay"), st.integers(0, 20), amounts),
    st.tuples(st.just("credit"), st.integers(0, ACCOUNTS - 1), st.integers(0, len(CURRENCIES) - 1), amounts),
    st.tuples(st.just("refund"), st.integers(0, 20), amounts),
    st.tuples(st.just("void"), st.integers(0, 20)),
), min_size=1, max_size=25)


def _pick(items: list, index: int):
    return items[index % len(items)] if items else None


class Domain:
    """One firm's book driven through billing's domain functions, each step in a savepoint."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.firm = uuid.uuid4()
        self.accounts = [uuid.uuid4() for _ in range(ACCOUNTS)]
        self.staff = uuid.uuid4()
        self.invoices: list[uuid.UUID] = []
        self.payments: list[uuid.UUID] = []

    def run(self, step: tuple) -> bool:
        """Apply a step; True when it was accepted, False when the rules refused it (nothing written)."""
        savepoint = self.session.begin_nested()
        try:
            getattr(self, step[0])(*step[1:])
        except (Conflict, ValidationFailed):
            savepoint.rollback()
            return False
        savepoint.commit()
        return True

    def issue(self, account: int, currency: int, price: int) -> None:
        draft = invoices.draft(self.session, self.firm, self.accounts[account], {
            "currency": CURRENCIES[currency], "due_date": date(2026, 12, 31), "memo": None,
            "items": [{"description": "Work", "quantity": 1, "unit_price": price}]}, self.staff)
        invoices.issue(self.session, draft, ["client@example.com"], "Client", self.staff)
        self.invoices.append(draft.id)

    def pay(self, index: int, amount: int) -> None:
        invoice = self.session.get(Invoice, _pick(self.invoices, index)) if self.invoices else None
        if invoice is None:
            raise Conflict("no invoice yet")
        self.payments.append(ledger.record_payment(self.session, invoice, amount, "cash", created_by=self.staff).id)

    def credit(self, account: int, currency: int, amount: int) -> None:
        self.payments.append(ledger.record_credit(self.session, self.firm, self.accounts[account],
                                                  CURRENCIES[currency], amount, "check").id)

    def refund(self, index: int, amount: int) -> None:
        payment = self.session.get(Payment, _pick(self.payments, index)) if self.payments else None
        if payment is None:
            raise Conflict("no payment yet")
        ledger.refund(self.session, payment, amount, "test", self.staff)

    def void(self, index: int) -> None:
        invoice = self.session.get(Invoice, _pick(self.invoices, index)) if self.invoices else None
        if invoice is None:
            raise Conflict("no invoice yet")
        invoices.void(self.session, invoice, self.staff)

    def reported(self) -> tuple[dict, dict]:
        found = {i: self.session.get(Invoice, i) for i in self.invoices}
        sums = ledger.invoice_amounts(self.session, found)
        report = {i: invoices.as_fields(invoice, sums[i]) for i, invoice in found.items()}
        credit = {(a, c): amount for a in self.accounts
                  for c, amount in ledger.credit_balances(self.session, self.firm, a).items()}
        return report, credit


def allowed(domain: Domain, step: tuple) -> bool | None:
    """Whether the rules allow a step, from the raw sums before it (None: not decided here, an issue)."""
    state = raw_state(domain.session, domain.firm)
    sums = expected_amounts(state)
    kind = step[0]
    if kind == "pay":
        if not domain.invoices:
            return False
        invoice = state["invoices"][_pick(domain.invoices, step[1])]
        s = sums["invoices"][invoice.id]
        due = s["charge"] - s["payment"] - s["credit_applied"]
        return not s["void"] and 1 <= step[2] <= due
    if kind == "refund":
        if not domain.payments:
            return False
        payment = state["payments"][_pick(domain.payments, step[1])]
        left = payment.amount - sums["payments"][payment.id]
        if payment.invoice_id is None:
            left = min(left, sums["credit"][(payment.account_id, payment.currency)])
        return step[2] <= left
    if kind == "void":
        if not domain.invoices:
            return False
        s = sums["invoices"][_pick(domain.invoices, step[1])]
        return not s["void"] and s["charge"] > 0 and s["payment"] + s["credit_applied"] == 0
    return True


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sequence=steps)
def test_random_sequences_through_the_domain_keep_every_invariant(db, sequence):
    domain = Domain(db)
    for step in sequence:
        expected = allowed(domain, step)
        accepted = domain.run(step)
        if expected is not None:
            assert accepted == expected, (step, accepted)
        check(raw_state(db, domain.firm), *domain.reported())


service_steps = st.lists(st.one_of(
    st.tuples(st.just("issue"), st.integers(0, ACCOUNTS - 1), st.integers(0, 1), st.integers(1, 3000)),
    st.tuples(st.just("pay"), st.integers(0, 10), amounts),
    st.tuples(st.just("credit"), st.integers(0, ACCOUNTS - 1), st.integers(0, 1), amounts),
    st.tuples(st.just("refund"), st.integers(0, 10), amounts),
    st.tuples(st.just("void"), st.integers(0, 10)),
), min_size=1, max_size=10)


@pytest.fixture
def book(billing, engine):
    """The running service and a way to read the raw rows of a firm."""

    def state(firm: uuid.UUID):
        with Session(engine) as session:
            return raw_state(session, firm)

    return billing, state


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sequence=service_steps)
def test_random_sequences_through_the_service_keep_every_invariant(book, sequence):
    billing, state = book
    firm = uuid.uuid4()
    accounts = [str(uuid.uuid4()) for _ in range(ACCOUNTS)]
    made: dict[str, list[str]] = {"invoices": [], "payments": []}
    with billing(str(firm)) as proxy:
        for step in sequence:
            kind = step[0]
            try:
                if kind == "issue":
                    draft = proxy.create_invoice(accounts[step[1]], {
                        "currency": CURRENCIES[step[2]], "due_date": "2026-12-31",
                        "items": [{"description": "Work", "quantity": 1, "unit_price": step[3]}]})
                    made["invoices"].append(proxy.issue_invoice(draft["id"], idempotency_key=str(uuid.uuid4()))["id"])
                elif kind == "pay" and made["invoices"]:
                    made["payments"].append(proxy.record_offline_payment(
                        _pick(made["invoices"], step[1]), {"amount": step[2], "method": "cash"},
                        idempotency_key=str(uuid.uuid4()))["id"])
                elif kind == "credit":
                    made["payments"].append(proxy.record_prepayment(accounts[step[1]], {
                        "amount": step[3], "currency": CURRENCIES[step[2]], "method": "cash"})["payment"]["id"])
                elif kind == "refund" and made["payments"]:
                    proxy.refund_payment(_pick(made["payments"], step[1]), {"amount": step[2]})
                elif kind == "void" and made["invoices"]:
                    proxy.void_invoice(_pick(made["invoices"], step[1]))
            except (Conflict, ValidationFailed):
                pass  # refused by the rules; the invariants say nothing was half-written
            reported = {uuid.UUID(i): proxy.get_invoice(i) for i in made["invoices"]}
            credit = {(uuid.UUID(a), b["currency"]): b["amount"] for a in accounts
                      for b in proxy.get_credit(a)["balances"]}
            check(state(firm), reported, credit)
