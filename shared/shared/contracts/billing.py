"""The billing service's contract: what its RPCs accept and return. It emits no event yet.

A skeleton for the billing issue: a staff member drafts an invoice of an account. Money is an
integer of the currency's minor units everywhere (a float is a 422). Issuing, numbers, the
ledger, payments and who may bill (`manage_billing`) come with that issue.
"""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from shared.schemas import Timestamp

# Issue 13 adds open, partially_paid, paid, void, partially_refunded and refunded.
INVOICE_STATUSES = ("draft",)


class InvoiceLineSchema(Schema):
    description = fields.String(required=True, validate=validate.Length(min=1, max=500))
    # strict: 12.5 is refused rather than rounded; an amount is never a float.
    amount = fields.Integer(required=True, strict=True, validate=validate.Range(min=0),
                            metadata={"description": "In the currency's minor units (cents)"})


class CreateInvoiceSchema(Schema):
    account_id = fields.UUID(required=True)
    currency = fields.String(required=True, validate=validate.Regexp(r"^[A-Z]{3}$"),
                             metadata={"description": "ISO 4217 code, e.g. EUR"})
    lines = fields.List(fields.Nested(InvoiceLineSchema), required=True, validate=validate.Length(min=1, max=200))


class InvoiceSchema(Schema):
    id = fields.UUID()
    account_id = fields.UUID()
    currency = fields.String()
    status = fields.String(validate=validate.OneOf(INVOICE_STATUSES))
    lines = fields.List(fields.Nested(InvoiceLineSchema))
    total = fields.Integer(metadata={"description": "The sum of the lines, in minor units"})
    created_by = fields.UUID()
    created_at = Timestamp()
