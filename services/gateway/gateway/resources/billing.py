"""Billing for staff (billing service): invoices, offline payments, refunds, prepaid credit, the ledger.

Money-moving writes pass the `Idempotency-Key` header on to billing, which keeps the first answer per
(firm, key). Answers of writes hold no pay link (they are stored for replay): the url comes with a read.
"""
from __future__ import annotations

import base64
import binascii
from typing import Any

import falcon

from gateway.openapi import operation
from gateway.resources.paging import page_query
from shared.contracts.billing import (
    CreditCreateSchema,
    CreditSchema,
    InvoiceCreateSchema,
    InvoicePageSchema,
    InvoicePatchSchema,
    InvoiceQuerySchema,
    InvoiceSchema,
    LedgerPageSchema,
    LedgerQuerySchema,
    PaymentCreateSchema,
    PaymentPageSchema,
    PaymentSchema,
    RefundCreateSchema,
    RefundResultSchema,
)
from shared.errors import UpstreamError

IDEMPOTENT = ("Takes an `Idempotency-Key` header (1 to 255 printable characters, e.g. a UUID): a replay answers "
              "as the first request did, the same key with another request is a 409, and concurrent copies "
              "record one effect.")


def idempotency_key(req: falcon.Request) -> str | None:
    """The `Idempotency-Key` header as it came; billing checks it (a malformed one is a 422)."""
    return req.get_header("Idempotency-Key")


class AccountInvoices:
    auth = "staff"

    def __init__(self, rpc: Any) -> None:
        self.rpc = rpc

    @operation("Draft an invoice for the account: items, ISO 4217 currency, due date, memo; amounts in minor "
               "units", body=InvoiceCreateSchema, response=InvoiceSchema, status=201)
    def on_post(self, req: falcon.Request, resp: falcon.Response, account_id: Any) -> None:
        resp.media = self.rpc.call("billing", "create_invoice", context=req.context.call_context,
                                   account_id=str(account_id), payload=req.get_media())
        resp.status = falcon.HTTP_201

    @operation("The account's invoices, newest first, optionally of one status", query=InvoiceQuerySchema,
               response=InvoicePageSchema)
    def on_get(self, req: falcon.Request, resp: falcon.Response, account_id: Any) -> None:
        resp.media = self.rpc.call("billing", "list_invoices", context=req.context.call_context,
                                   account_id=str(account_id), query=page_query(req, "status"))


class Invoice:
    auth = "staff"

    def __init__(self, rpc: Any) -> None:
        self.rpc = rpc

    @operation("An invoice with its amounts (summed from the ledger) and its pay link", response=InvoiceSchema)
    def on_get(self, req: falcon.Request, resp: falcon.Response, invoice_id: Any) -> None:
        resp.media = self.rpc.call("billing", "get_invoice", context=req.context.call_context,
                                   invoice_id=str(invoice_id))

    @operation("Change a draft (an issued invoice: 409)", body=InvoicePatchSchema, response=InvoiceSchema,
               errors=(409,))
    def on_patch(self, req: falcon.Request, resp: falcon.Response, invoice_id: Any) -> None:
        resp.media = self.rpc.call("billing", "update_invoice", context=req.context.call_context,
                                   invoice_id=str(invoice_id), payload=req.get_media())


class InvoiceIssue:
    auth = "staff"

    def __init__(self, rpc: Any) -> None:
        self.rpc = rpc

    @operation("Issue a draft: the firm's next number (gapless), the account's prepaid credit applied, a pay link; "
               "status `open`, or `paid` when the credit covered it", response=InvoiceSchema, errors=(409, 422),
               description=IDEMPOTENT)
    def on_post(self, req: falcon.Request, resp: falcon.Response, invoice_id: Any) -> None:
        context = req.context.call_context
        self.rpc.call("billing", "issue_invoice", context=context, invoice_id=str(invoice_id),
                      idempotency_key=idempotency_key(req))
        resp.media = self.rpc.call("billing", "get_invoice", context=context, invoice_id=str(invoice_id))
        resp.set_header("Cache-Control", "no-store")  # it carries the pay link


class InvoiceVoid:
    auth = "staff"

    def __init__(self, rpc: Any) -> None:
        self.rpc = rpc

    @operation("Void an open invoice nothing was paid on: its pay link stops working (410)", response=InvoiceSchema,
               errors=(409,))
    def on_post(self, req: falcon.Request, resp: falcon.Response, invoice_id: Any) -> None:
        resp.media = self.rpc.call("billing", "void_invoice", context=req.context.call_context,
                                   invoice_id=str(invoice_id))


class InvoicePdf:
    auth = "staff"

    def __init__(self, rpc: Any) -> None:
        self.rpc = rpc

    @operation("The invoice as a PDF (application/pdf)", binary_response=True)
    def on_get(self, req: falcon.Request, resp: falcon.Response, invoice_id: Any) -> None:
        document = self.rpc.call("billing", "invoice_pdf", context=req.context.call_context,
                                 invoice_id=str(invoice_id))
        try:
            resp.data = base64.b64decode(document["content_base64"], validate=True)
        except (binascii.Error, KeyError, TypeError):
            raise UpstreamError("billing answered no PDF.") from None
        resp.content_type = "application/pdf"
        resp.set_header("Content-Disposition", f'inline; filename="{document["filename"]}"')


class InvoicePayments:
    auth = "staff"

    def __init__(self, rpc: Any) -> None:
        self.rpc = rpc

    @operation("Record an offline payment (cash, check, bank transfer, other); no more than is due (422); a paid "
               "or void invoice: 409", body=PaymentCreateSchema, response=PaymentSchema, status=201, errors=(409,),
               description=IDEMPOTENT)
    def on_post(self, req: falcon.Request, resp: falcon.Response, invoice_id: Any) -> None:
        resp.media = self.rpc.call("billing", "record_offline_payment", context=req.context.call_context,
                                   invoice_id=str(invoice_id), payload=req.get_media(),
                                   idempotency_key=idempotency_key(req))
        resp.status = falcon.HTTP_201

    @operation("The invoice's payments, newest first, each with its refunds", response=PaymentPageSchema)
    def on_get(self, req: falcon.Request, resp: falcon.Response, invoice_id: Any) -> None:
        resp.media = self.rpc.call("billing", "list_invoice_payments", context=req.context.call_context,
                                   invoice_id=str(invoice_id))


class Payment:
    auth = "staff"

    def __init__(self, rpc: Any) -> None:
        self.rpc = rpc

    @operation("A payment with its refunds and what may still be refunded", response=PaymentSchema)
    def on_get(self, req: falcon.Request, resp: falcon.Response, payment_id: Any) -> None:
        resp.media = self.rpc.call("billing", "get_payment", context=req.context.call_context,
                                   payment_id=str(payment_id))


class PaymentRefunds:
    auth = "staff"

    def __init__(self, rpc: Any) -> None:
        self.rpc = rpc

    @operation("Refund part or all of a payment: never more than was paid and not yet refunded (422); for a "
               "prepayment, no more than the unapplied credit", body=RefundCreateSchema, response=RefundResultSchema,
               status=201, errors=(409,), description=IDEMPOTENT)
    def on_post(self, req: falcon.Request, resp: falcon.Response, payment_id: Any) -> None:
        resp.media = self.rpc.call("billing", "refund_payment", context=req.context.call_context,
                                   payment_id=str(payment_id), payload=req.get_media(),
                                   idempotency_key=idempotency_key(req))
        resp.status = falcon.HTTP_201


class AccountCredit:
    auth = "staff"

    def __init__(self, rpc: Any) -> None:
        self.rpc = rpc

    @operation("The account's prepaid credit, one balance per currency", response=CreditSchema)
    def on_get(self, req: falcon.Request, resp: falcon.Response, account_id: Any) -> None:
        resp.media = self.rpc.call("billing", "get_credit", context=req.context.call_context,
                                   account_id=str(account_id))

    @operation("Record a prepayment received offline: the account's credit in that currency grows",
               body=CreditCreateSchema, response=CreditSchema, status=201, errors=(409,), description=IDEMPOTENT)
    def on_post(self, req: falcon.Request, resp: falcon.Response, account_id: Any) -> None:
        resp.media = self.rpc.call("billing", "record_prepayment", context=req.context.call_context,
                                   account_id=str(account_id), payload=req.get_media(),
                                   idempotency_key=idempotency_key(req))
        resp.status = falcon.HTTP_201


class AccountLedger:
    auth = "staff"

    def __init__(self, rpc: Any) -> None:
        self.rpc = rpc

    @operation("Every ledger entry of the account (charge, payment, credit, credit_applied, refund, void), "
               "immutable, oldest first", query=LedgerQuerySchema, response=LedgerPageSchema)
    def on_get(self, req: falcon.Request, resp: falcon.Response, account_id: Any) -> None:
        resp.media = self.rpc.call("billing", "list_ledger", context=req.context.call_context,
                                   account_id=str(account_id), query=page_query(req))
