"""The billing service over RPC: a container on the run's broker, its real database."""
from __future__ import annotations

import uuid

import pytest

from shared.errors import Forbidden, NotFound, Unauthorized, ValidationFailed


def draft(**changes):
    return {"account_id": str(uuid.uuid4()), "currency": "EUR",
            "lines": [{"description": "Tax return 2025", "amount": 45000},
                      {"description": "Bookkeeping, March", "amount": 12050}], **changes}


def test_staff_draft_an_invoice_and_read_it_back(billing, firm):
    user = str(uuid.uuid4())
    payload = draft()
    with billing(firm, user_id=user) as proxy:
        invoice = proxy.create_invoice(payload)
        assert invoice["status"] == "draft" and invoice["created_by"] == user
        assert invoice["lines"] == payload["lines"]  # in the order given
        assert invoice["total"] == 57050 and invoice["currency"] == "EUR"
        assert proxy.get_invoice(invoice["id"]) == invoice


def test_another_firms_invoice_and_a_malformed_id_are_not_found(billing, firm):
    with billing(firm) as proxy:
        invoice = proxy.create_invoice(draft())
    with billing(str(uuid.uuid4())) as other, pytest.raises(NotFound):
        other.get_invoice(invoice["id"])
    with billing(firm) as proxy, pytest.raises(NotFound):
        proxy.get_invoice("not-an-id")


def test_only_staff_draft_invoices(billing, firm):
    with billing(firm, kind="client") as proxy, pytest.raises(Forbidden):
        proxy.create_invoice(draft())
    with billing() as anonymous, pytest.raises(Unauthorized):
        anonymous.create_invoice(draft())


def test_a_float_amount_is_a_validation_error(billing, firm):
    with billing(firm) as proxy, pytest.raises(ValidationFailed):
        proxy.create_invoice(draft(lines=[{"description": "Half", "amount": 0.5}]))
