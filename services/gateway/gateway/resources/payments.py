"""Paying online (billing service): the pay link's page and payment, Stripe's webhook, and the firm's
payment settings (docs/payments.md)."""
from __future__ import annotations

from datetime import date
from typing import Any

import falcon

from gateway.openapi import operation
from gateway.resources.billing import IDEMPOTENT, idempotency_key
from gateway.resources.public import _private, pages
from shared.contracts.billing import (
    OnlinePaymentCreateSchema,
    PaymentResultSchema,
    PaymentSettingsSchema,
    PaymentSettingsUpdateSchema,
    StripeEventSchema,
    WebhookReceiptSchema,
    format_amount,
)
from shared.errors import BadRequest, PayloadTooLarge

# Stripe's events are a few kilobytes; a body past this is no event of Stripe's.
MAX_WEBHOOK_BODY = 512 * 1024


def money(amount: int, invoice: dict) -> str:
    """An amount of the invoice's currency in words a payer reads: `EUR 1,234.56`, `JPY 1,234`."""
    return format_amount(amount, invoice["currency"], invoice["exponent"])


def due_in_words(iso: str | None) -> str | None:
    if not iso:
        return None
    day = date.fromisoformat(iso)
    return f"{day.day} {day:%B %Y}"


class InvoiceLink:
    """The `invoice` kind of link: the pay page of one invoice (public.LinkKind)."""

    def describe(self, rpc: Any, req: falcon.Request, token: str, link: dict) -> dict:
        pay = rpc.call("billing", "describe_pay_link", context=req.context.call_context, token=token,
                       address=req.context.client_address)
        return {"invoice": pay["invoice"], "payment": pay["payment"]}

    def page(self, info: dict, token: str) -> str:
        invoice = info["invoice"]
        return pages.get_template("pay.html").render(
            firm_name=info["firm_name"], invoice=invoice, provider=info["payment"]["provider"],
            test_mode=info["payment"]["test_mode"], token=token, money=lambda amount: money(amount, invoice),
            due_date=due_in_words(invoice.get("due_date")))


class LinkPayment:
    auth = None

    def __init__(self, rpc: Any) -> None:
        self.rpc = rpc

    @operation("Pay an invoice through its pay link, all or part of what is due",
               body=OnlinePaymentCreateSchema, response=PaymentResultSchema, status=201,
               errors=(402, 404, 409, 410, 422, 429),
               description="With the `test` provider the card is charged at once: 201 `{payment, invoice}`; card "
                           "4000000000000002 is declined (402, nothing recorded). With `stripe` the answer is 201 "
                           "`{checkout_url}` and the payment is recorded when Stripe's signed webhook arrives. More "
                           "than `amount_due` is a 422; a paid or void invoice's link answers 409. " + IDEMPOTENT)
    def on_post(self, req: falcon.Request, resp: falcon.Response, token: str) -> None:
        _private(resp)
        resp.media = self.rpc.call("billing", "pay_invoice_link", context=req.context.call_context, token=token,
                                   address=req.context.client_address, payload=req.get_media(),
                                   idempotency_key=idempotency_key(req))
        resp.status = falcon.HTTP_201


class StripeWebhook:
    """Stripe posts `checkout.session.completed` here. Public: the Stripe-Signature header, checked by billing
    against the firm's webhook secret over the body exactly as it came, is the only credential."""

    auth = None

    def __init__(self, rpc: Any) -> None:
        self.rpc = rpc

    @operation("Stripe's webhook: a signed event; a paid Checkout Session's payment is recorded once",
               body=StripeEventSchema, response=WebhookReceiptSchema, errors=(400, 413),
               description="Verified with `stripe.Webhook.construct_event` and the webhook signing secret of the "
                           "firm whose session it names: a wrong or missing signature is a 400 and records "
                           "nothing; a redelivered event answers 200 and records nothing again.")
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        if req.content_length is not None and req.content_length > MAX_WEBHOOK_BODY:
            raise PayloadTooLarge("This is larger than any Stripe event.")
        body = req.bounded_stream.read(MAX_WEBHOOK_BODY + 1)
        if len(body) > MAX_WEBHOOK_BODY:
            raise PayloadTooLarge("This is larger than any Stripe event.")
        try:
            payload = body.decode("utf-8")
        except UnicodeDecodeError:
            raise BadRequest("The body is not a Stripe event.") from None
        if "\x00" in payload:
            raise BadRequest("The body is not a Stripe event.")
        resp.media = self.rpc.call("billing", "receive_stripe_webhook", context=req.context.call_context,
                                   payload=payload, signature=req.get_header("Stripe-Signature"))


class PaymentSettings:
    auth = "staff"

    def __init__(self, rpc: Any) -> None:
        self.rpc = rpc

    @operation("The firm's payment provider (`test` or `stripe`); whether Stripe's keys are stored, never the keys",
               response=PaymentSettingsSchema, description="Needs `manage_billing` (the owner and admins have it).")
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = self.rpc.call("billing", "get_payment_settings", context=req.context.call_context)

    @operation("Choose the payment provider; Stripe's keys are write-only (stored sealed)",
               body=PaymentSettingsUpdateSchema, response=PaymentSettingsSchema, errors=(422,),
               description="The owner and admins only: it decides where clients' money goes. `test` exists only "
                           "while PORTA_PAYMENTS_TEST_MODE is on. A key left out is kept, a key given as null is "
                           "forgotten; `stripe` needs both keys, now or stored before.")
    def on_put(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = self.rpc.call("billing", "update_payment_settings", context=req.context.call_context,
                                   payload=req.get_media())
