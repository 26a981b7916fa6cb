"""The `stripe` provider: Stripe Checkout through the `stripe` package, with the firm's own keys.

Paying starts a Checkout Session and sends the payer to Stripe's page; nothing is recorded then. The
payment is recorded only when Stripe's `checkout.session.completed` webhook arrives signed with the
firm's webhook secret (`verified_event`, Stripe's own `Webhook.construct_event`). `stripe.api_base` is
the installation's `PORTA_STRIPE_API_BASE`, so tests point the package at a stand-in for Stripe's API.
"""
from __future__ import annotations

import json
from typing import Any

import stripe

from billing.providers.base import PaymentRequest, Redirect
from shared.errors import BadRequest, Conflict, UpstreamError

NAME = "stripe"
COMPLETED = "checkout.session.completed"
# A Stripe call must end well within the gateway's RPC timeout (PORTA_RPC_TIMEOUT, 10 s by default):
# (connect, read) seconds, and no retries of the package's own.
TIMEOUT = (3.0, 6.0)


def use_api(api_base: str) -> None:
    """Point the `stripe` package at `api_base` (process-wide: every firm talks to the same Stripe)."""
    if stripe.api_base != api_base:
        stripe.api_base = api_base
    if stripe.default_http_client is None:
        stripe.default_http_client = stripe.RequestsClient(timeout=TIMEOUT)
    stripe.max_network_retries = 0


class StripeCheckout:
    """The `stripe` PaymentProvider for one firm: its secret key (sk_...) creates Checkout Sessions."""

    name = NAME

    def __init__(self, secret_key: str, api_base: str) -> None:
        self.secret_key = secret_key
        use_api(api_base)

    def pay(self, request: PaymentRequest) -> Redirect:
        separator = "&" if "?" in request.return_url else "?"
        try:
            session = stripe.checkout.Session.create(
                api_key=self.secret_key,
                # Our attempt's reference: a retried request gets the same session, never a second one.
                idempotency_key=f"porta-{request.reference}",
                mode="payment",
                line_items=[{"quantity": 1, "price_data": {
                    "currency": request.currency.lower(), "unit_amount": request.amount,
                    "product_data": {"name": request.description}}}],
                customer_email=request.payer_email or None,
                client_reference_id=request.reference,
                metadata=request.metadata,
                payment_intent_data={"metadata": request.metadata},
                success_url=f"{request.return_url}{separator}checkout=complete",
                cancel_url=f"{request.return_url}{separator}checkout=canceled",
            )
        except (stripe.AuthenticationError, stripe.PermissionError):
            raise Conflict("The firm's Stripe account refused the request: its keys need to be checked in the "
                           "payment settings.") from None
        except stripe.StripeError as exc:
            raise UpstreamError(f"Stripe did not start the payment: {exc.user_message or 'no reason given'}.") \
                from None
        session_id, url = getattr(session, "id", None), getattr(session, "url", None)
        if not isinstance(session_id, str) or not isinstance(url, str) or not session_id or not url:
            raise UpstreamError("Stripe did not answer with a checkout page.")
        return Redirect(provider=NAME, session_id=session_id, checkout_url=url)


def session_id_of(payload: bytes) -> str | None:
    """The Checkout Session a webhook names, read before it is verified: it only says which firm's secret
    to verify it with (an unsigned or forged body gets no further)."""
    try:
        found = json.loads(payload)["data"]["object"]["id"]
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        return None
    return found if isinstance(found, str) else None


def verified_event(payload: bytes, signature: str | None, webhook_secret: str) -> Any:
    """The webhook's event when its Stripe-Signature header is the firm's (and recent); else BadRequest."""
    try:
        return stripe.Webhook.construct_event(payload, signature, webhook_secret)
    except stripe.SignatureVerificationError:
        raise BadRequest("The Stripe-Signature header does not match this body.") from None
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("The body is not a Stripe event.") from None
