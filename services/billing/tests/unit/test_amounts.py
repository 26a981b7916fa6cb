"""The money rules and the contract, without a database or a broker."""
from __future__ import annotations

import pytest

from billing.amounts import (
    InvoiceAmounts,
    check_payment,
    check_refund,
    check_void,
    credit_balance,
    credit_to_apply,
    payment_refundable,
    status_of,
)
from billing.money import display, exponent_of
from shared.contracts.billing import InvoiceCreateSchema, PaymentCreateSchema, format_amount
from shared.errors import Conflict, ValidationFailed
from shared.schemas import validated


def amounts(*entries):
    return InvoiceAmounts.of(entries)


def test_an_invoices_amounts_are_sums_of_its_entries():
    found = amounts(("charge", 1000), ("credit_applied", 200), ("payment", 300), ("payment", 100), ("refund", 50))
    assert (found.paid, found.credit_applied, found.refunded, found.due) == (400, 200, 50, 400)


@pytest.mark.parametrize("entries, status", [
    ((), "paid"),  # a zero total is settled when issued
    ((("charge", 1000),), "open"),
    ((("charge", 1000), ("payment", 1)), "partially_paid"),
    ((("charge", 1000), ("credit_applied", 1000)), "paid"),
    ((("charge", 1000), ("payment", 600), ("credit_applied", 400)), "paid"),
    ((("charge", 1000), ("payment", 1000), ("refund", 1)), "partially_refunded"),
    ((("charge", 1000), ("payment", 1000), ("refund", 1000)), "refunded"),
    ((("charge", 1000), ("void", 1000)), "void"),
])
def test_the_status_follows_from_the_amounts(entries, status):
    assert status_of(True, amounts(*entries)) == status


def test_a_draft_is_a_draft_whatever_its_entries():
    assert status_of(False, amounts()) == "draft"


def test_a_payment_is_never_more_than_is_due_and_never_on_a_settled_invoice():
    due = amounts(("charge", 1000), ("payment", 400))
    check_payment("partially_paid", due, 600)
    with pytest.raises(ValidationFailed):
        check_payment("partially_paid", due, 601)
    for status, state in (("draft", amounts()), ("void", amounts(("charge", 5), ("void", 5))),
                          ("paid", amounts(("charge", 5), ("payment", 5)))):
        with pytest.raises(Conflict):
            check_payment(status, state, 1)


def test_refunds_never_exceed_what_was_paid_and_for_credit_what_is_left_of_it():
    assert payment_refundable(1000, 300, prepayment=False, credit_balance=0) == 700
    assert payment_refundable(1000, 300, prepayment=True, credit_balance=250) == 250
    assert payment_refundable(1000, 1000, prepayment=True, credit_balance=5000) == 0
    check_refund(700, 700)
    with pytest.raises(ValidationFailed):
        check_refund(700, 701)
    with pytest.raises(ValidationFailed):
        check_refund(700, 0)


def test_credit_applies_as_far_as_it_goes_and_no_further_than_is_due():
    assert credit_to_apply(500, 2000) == 500
    assert credit_to_apply(5000, 2000) == 2000
    assert credit_to_apply(0, 2000) == credit_to_apply(-3, 2000) == 0


def test_credit_balance_counts_credit_less_what_was_applied_and_refunded():
    assert credit_balance([("credit", 1000, False), ("credit_applied", 300, True), ("refund", 200, False),
                           ("refund", 999, True), ("payment", 50, True)]) == 500


def test_only_an_open_invoice_with_nothing_paid_is_voided():
    check_void("open")
    for status in ("void", "paid", "partially_paid", "draft", "refunded"):
        with pytest.raises(Conflict):
            check_void(status)


def test_exponents_come_from_the_iso_4217_table():
    assert (exponent_of("EUR"), exponent_of("JPY"), exponent_of("BHD")) == (2, 0, 3)
    for code in ("ZZZ", "XAU"):
        with pytest.raises(ValidationFailed):
            exponent_of(code)
    assert display(123456, "EUR") == "EUR 1,234.56"
    assert display(123456, "JPY") == "JPY 123,456"
    assert display(123456, "BHD") == "BHD 123.456"
    assert format_amount(-5, "EUR", 2) == "-EUR 0.05"


def test_an_amount_is_an_integer_of_minor_units_never_a_float():
    body = {"items": [{"description": "x", "quantity": 1, "unit_price": 100}], "currency": "EUR",
            "due_date": "2026-12-31"}
    assert validated(InvoiceCreateSchema(), body)["items"][0]["unit_price"] == 100
    for price in (1.5, 100.0, "100", True, -1, 10**13):
        with pytest.raises(ValidationFailed) as refused:
            validated(InvoiceCreateSchema(), {**body, "items": [{"description": "x", "quantity": 1,
                                                                   "unit_price": price}]})
        assert "items" in refused.value.errors, price
    for amount in (0.01, 0, "5"):
        with pytest.raises(ValidationFailed):
            validated(PaymentCreateSchema(), {"amount": amount, "method": "cash"})
    with pytest.raises(ValidationFailed):
        validated(PaymentCreateSchema(), {"amount": 5, "method": "card"})  # staff record offline methods only
