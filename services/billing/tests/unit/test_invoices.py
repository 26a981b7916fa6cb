"""Draft invoice rules and the billing contract, without a database or a broker."""
from __future__ import annotations

import uuid

import pytest

from billing.models import Invoice, InvoiceLine
from shared.contracts.billing import CreateInvoiceSchema
from shared.errors import ValidationFailed
from shared.schemas import validated


def invoice(**changes):
    return {"account_id": str(uuid.uuid4()), "currency": "EUR",
            "lines": [{"description": "Tax return 2025", "amount": 45000}], **changes}


def test_an_amount_is_an_integer_of_minor_units_never_a_float():
    assert validated(CreateInvoiceSchema(), invoice())["lines"][0]["amount"] == 45000
    for amount in (450.5, "45000", -1):
        with pytest.raises(ValidationFailed) as refused:
            validated(CreateInvoiceSchema(), invoice(lines=[{"description": "x", "amount": amount}]))
        assert "lines" in refused.value.errors, amount


def test_a_currency_is_an_iso_4217_code_and_an_invoice_has_lines():
    for changes in ({"currency": "eur"}, {"currency": "EURO"}, {"lines": []}):
        with pytest.raises(ValidationFailed) as refused:
            validated(CreateInvoiceSchema(), invoice(**changes))
        assert set(refused.value.errors) == set(changes)


def test_the_total_is_the_sum_of_the_lines():
    draft = Invoice(lines=[InvoiceLine(position=0, description="a", amount=45000),
                           InvoiceLine(position=1, description="b", amount=1250)])
    assert draft.total == 46250
    assert Invoice(lines=[]).total == 0
