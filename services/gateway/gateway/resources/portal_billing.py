"""The client portal's billing (billing service): the account's invoices, paying them, its prepaid credit
and paying ahead."""
from __future__ import annotations

from typing import Any

import falcon

from gateway.openapi import operation
from gateway.resources.billing import IDEMPOTENT, idempotency_key
from gateway.resources.paging import page_query
from shared.contracts.billing import (
    CreditSchema,
    InvoiceQuerySchema,
    PaymentResultSchema,
    PortalInvoicePageSchema,
    PortalPaymentCreateSchema,
    PrepaymentCreateSchema,
    PrepaymentResultSchema,
)


class PortalInvoices:
    auth = "client"

    def __init__(self, rpc: Any) -> None:
        self.rpc = rpc

    @operation("The account's issued invoices, newest first (`?status=`)", query=InvoiceQuerySchema,
               response=PortalInvoicePageSchema, errors=(422,))
    def on_get(self, req: falcon.Request, resp: falcon.Response, account_id: Any) -> None:
        resp.media = self.rpc.call("billing", "list_portal_invoices", context=req.context.call_context,
                                   account_id=str(account_id), query=page_query(req, "status"))


class PortalInvoicePayments:
    auth = "client"

    def __init__(self, rpc: Any) -> None:
        self.rpc = rpc

    @operation("Pay one of the account's invoices, all or part of what is due (the payer is the caller unless "
               "named)", body=PortalPaymentCreateSchema, response=PaymentResultSchema, status=201,
               errors=(402, 409, 422),
               description="As the pay link's payment: 201 `{payment, invoice}` with the `test` provider, "
                           "`{checkout_url}` with `stripe`; a declined card is a 402. " + IDEMPOTENT)
    def on_post(self, req: falcon.Request, resp: falcon.Response, account_id: Any, invoice_id: Any) -> None:
        resp.media = self.rpc.call("billing", "pay_portal_invoice", context=req.context.call_context,
                                   account_id=str(account_id), invoice_id=str(invoice_id), payload=req.get_media(),
                                   idempotency_key=idempotency_key(req))
        resp.status = falcon.HTTP_201


class PortalCredit:
    auth = "client"

    def __init__(self, rpc: Any) -> None:
        self.rpc = rpc

    @operation("The account's prepaid credit, one balance per currency", response=CreditSchema)
    def on_get(self, req: falcon.Request, resp: falcon.Response, account_id: Any) -> None:
        resp.media = self.rpc.call("billing", "get_portal_credit", context=req.context.call_context,
                                   account_id=str(account_id))


class PortalPrepayments:
    auth = "client"

    def __init__(self, rpc: Any) -> None:
        self.rpc = rpc

    @operation("Pay ahead: the money becomes the account's credit, applied to its next invoices",
               body=PrepaymentCreateSchema, response=PrepaymentResultSchema, status=201, errors=(402, 409, 422),
               description="Only while the firm has `prepayment` on in its portal settings (else 403). " + IDEMPOTENT)
    def on_post(self, req: falcon.Request, resp: falcon.Response, account_id: Any) -> None:
        resp.media = self.rpc.call("billing", "portal_prepayment", context=req.context.call_context,
                                   account_id=str(account_id), payload=req.get_media(),
                                   idempotency_key=idempotency_key(req))
        resp.status = falcon.HTTP_201
