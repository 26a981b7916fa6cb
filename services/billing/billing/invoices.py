"""Invoices: plain domain code, no nameko. Each function gets the caller's session (its transaction)."""
from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import Session

from billing.models import Invoice, InvoiceLine
from shared.errors import NotFound


def draft(session: Session, firm_id: uuid.UUID, account_id: uuid.UUID, currency: str,
          lines: list[dict[str, Any]], created_by: uuid.UUID) -> Invoice:
    """A draft invoice of one of the firm's accounts, its lines in the given order. A draft is
    nobody's business yet: it has no number and moves no money (issuing comes with the billing issue)."""
    invoice = Invoice(firm_id=firm_id, account_id=account_id, currency=currency, status="draft",
                      created_by=created_by,
                      lines=[InvoiceLine(position=n, description=line["description"], amount=line["amount"])
                             for n, line in enumerate(lines)])
    session.add(invoice)
    session.flush()  # the id and created_at, for the reply
    return invoice


def get(session: Session, firm_id: uuid.UUID, invoice_id: uuid.UUID) -> Invoice:
    """An invoice of this firm; another firm's is as unknown as one that does not exist."""
    invoice = session.get(Invoice, invoice_id)
    if invoice is None or invoice.firm_id != firm_id:
        raise NotFound("No such invoice.")
    return invoice
