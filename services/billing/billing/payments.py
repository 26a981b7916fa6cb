"""Payments through a provider: the firm's choice of provider and its keys, paying an invoice (pay link,
portal), paying ahead (prepayment), and Stripe's signed notice that a checkout was paid.

A provider either charges at once (the `test` card processor): the payment is recorded in the same
transaction, through the ledger; or it sends the payer to its own page (Stripe Checkout): a
CheckoutSession row waits, and the payment is recorded only when the provider's signed
`checkout.session.completed` arrives, once however often it is delivered (the session row is locked,
and a payment's (provider, provider_ref) is unique). Money that arrives for an invoice that no longer
takes it (paid or voided meanwhile) becomes the account's credit, never lost and never an overpayment.
Plain Python over the caller's session; the caller commits.
"""
from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from billing import invoices, ledger
from billing.amounts import check_payment
from billing.models import CheckoutSession, Invoice, Payment, PaymentSettings
from billing.money import exponent_of
from billing.providers import stripe_checkout, test_card
from billing.providers.base import Card, Charged, PaymentProvider, PaymentRequest, Redirect
from billing.providers.sealing import ProviderKeySeal
from shared.errors import BadRequest, Conflict, NotFound, ValidationFailed
from shared.paging import newest_first

ONLINE_PROVIDERS = (test_card.NAME, stripe_checkout.NAME)
WEBHOOK_PATH = "/api/webhooks/stripe"
# Stripe events that mean a checkout's money arrived (a delayed method, e.g. a bank debit, completes later).
PAID_EVENTS = (stripe_checkout.COMPLETED, "checkout.session.async_payment_succeeded")


@dataclass(frozen=True)
class Installation:
    """What the installation decides for every firm (shared.config.Settings)."""

    test_mode: bool
    stripe_api_base: str
    sealing_keys: str
    base_url: str

    @classmethod
    def of(cls, settings: Any) -> Installation:
        return cls(test_mode=settings.payments_test_mode, stripe_api_base=settings.stripe_api_base,
                   sealing_keys=settings.link_sealing_key, base_url=settings.base_url)

    @property
    def available(self) -> tuple[str, ...]:
        return ONLINE_PROVIDERS if self.test_mode else (stripe_checkout.NAME,)


@dataclass(frozen=True)
class Outcome:
    """What paying did: a recorded `payment`, or a `checkout` waiting on the provider's page."""

    payment: Payment | None = None
    checkout: CheckoutSession | None = None


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)


# -- the firm's settings -------------------------------------------------------------------------------


def settings_of(session: Session, firm_id: uuid.UUID) -> PaymentSettings | None:
    return session.get(PaymentSettings, firm_id)


def provider_name(row: PaymentSettings | None, installation: Installation) -> str | None:
    """The provider the firm's payers pay through now: its choice, else the test processor in test mode.
    None: no online payments (nothing chosen, or the test processor on an installation without test mode)."""
    chosen = row.provider if row is not None else (test_card.NAME if installation.test_mode else None)
    return chosen if chosen in installation.available else None


def describe_settings(row: PaymentSettings | None, installation: Installation) -> dict[str, Any]:
    """What the settings page shows: never a key, only whether one is stored."""
    return {"provider": provider_name(row, installation), "test_mode": installation.test_mode,
            "available_providers": list(installation.available),
            "stripe": {"secret_key_set": bool(row and row.stripe_secret_key),
                       "webhook_secret_set": bool(row and row.stripe_webhook_secret),
                       "webhook_url": installation.base_url + WEBHOOK_PATH},
            "updated_at": row.updated_at if row is not None else None}


def update_settings(session: Session, firm_id: uuid.UUID, data: Mapping[str, Any], installation: Installation,
                    updated_by: uuid.UUID, now: datetime | None = None) -> PaymentSettings:
    """Choose the provider. Keys are write-only: one given is sealed and stored, one left out is kept, one
    given as null is forgotten. Stripe needs both its keys, now or stored before (422)."""
    provider = data["provider"]
    if provider not in installation.available:
        raise ValidationFailed("This provider is not available on this installation.",
                               {"provider": ["Test card payments need PORTA_PAYMENTS_TEST_MODE on."]})
    row = settings_of(session, firm_id)
    if row is None:
        row = PaymentSettings(firm_id=firm_id)
        session.add(row)
    seal: ProviderKeySeal | None = None
    for field in ("stripe_secret_key", "stripe_webhook_secret"):
        if field in data:
            if data[field] is None:
                setattr(row, field, None)
            else:
                seal = seal or ProviderKeySeal(installation.sealing_keys)
                setattr(row, field, seal.seal(data[field]))
    if provider == stripe_checkout.NAME:
        missing = {f: ["Needed for Stripe."] for f in ("stripe_secret_key", "stripe_webhook_secret")
                   if not getattr(row, f)}
        if missing:
            raise ValidationFailed("Stripe needs the firm's secret key and webhook signing secret.", missing)
    row.provider = provider
    row.updated_by = updated_by
    row.updated_at = _now(now)
    session.flush()
    return row


def provider_for(row: PaymentSettings | None, installation: Installation) -> PaymentProvider:
    """The firm's provider, ready to take a payment; Conflict when the firm takes no online payments."""
    name = provider_name(row, installation)
    if name == test_card.NAME:
        return test_card.TestCardProcessor(installation.test_mode)
    if name == stripe_checkout.NAME and row is not None and row.stripe_secret_key:
        secret = ProviderKeySeal(installation.sealing_keys).open(row.stripe_secret_key)
        return stripe_checkout.StripeCheckout(secret, installation.stripe_api_base)
    raise Conflict("This firm takes no online payments yet: ask it how to pay.")


# -- paying --------------------------------------------------------------------------------------------


def card_of(data: Mapping[str, Any] | None) -> Card | None:
    if not data:
        return None
    return Card(number=data["number"], exp_month=data["exp_month"], exp_year=data["exp_year"], cvc=data["cvc"])


def _payer(payer: Mapping[str, Any] | None) -> dict[str, Any]:
    payer = payer or {}
    return {"name": payer.get("name") or None, "email": (payer.get("email") or "").lower() or None}


def _request(reference: uuid.UUID, amount: int, currency: str, description: str, payer: Mapping[str, Any],
             card: Card | None, return_url: str, metadata: Mapping[str, str]) -> PaymentRequest:
    return PaymentRequest(reference=str(reference), amount=amount, currency=currency, description=description,
                          payer_name=payer.get("name") or "", payer_email=payer.get("email") or "", card=card,
                          return_url=return_url, metadata={**metadata, "porta_reference": str(reference)})


def _checkout(session: Session, redirect: Redirect, reference: uuid.UUID, firm_id: uuid.UUID,
              account_id: uuid.UUID, invoice_id: uuid.UUID | None, currency: str, amount: int,
              payer: dict[str, Any], now: datetime | None) -> CheckoutSession:
    checkout = CheckoutSession(id=reference, firm_id=firm_id, account_id=account_id, invoice_id=invoice_id,
                               currency=currency, amount=amount, provider=redirect.provider,
                               session_id=redirect.session_id, checkout_url=redirect.checkout_url, payer=payer,
                               status="open", created_at=_now(now))
    session.add(checkout)
    session.flush()
    return checkout


def pay_invoice(session: Session, invoice: Invoice, data: Mapping[str, Any], provider: PaymentProvider, *,
                return_url: str, now: datetime | None = None) -> Outcome:
    """`data` is {amount, payer, card?}. What the invoice refuses (paid or void: 409; more than is due: 422) is
    refused before the provider is asked; a declined card (402) records nothing. The invoice stays locked
    from the check to the record, so two payments at once never pay it beyond its total."""
    invoice = ledger.lock_invoice(session, invoice.id)
    amount = data["amount"]
    check_payment(invoice.status, ledger.amounts_of(session, invoice), amount)
    payer = _payer(data.get("payer"))
    reference = uuid.uuid4()
    number = invoices.display_number(invoice.number)
    outcome = provider.pay(_request(
        reference, amount, invoice.currency, f"Invoice {number}", payer, card_of(data.get("card")), return_url,
        {"porta_firm_id": str(invoice.firm_id), "porta_invoice_id": str(invoice.id)}))
    if isinstance(outcome, Charged):
        return Outcome(payment=ledger.record_payment(
            session, invoice, amount, "card", reference=_card_reference(outcome), payer=payer,
            provider=outcome.provider, provider_ref=outcome.charge_id, now=now))
    return Outcome(checkout=_checkout(session, outcome, reference, invoice.firm_id, invoice.account_id, invoice.id,
                                      invoice.currency, amount, payer, now))


def prepay(session: Session, firm_id: uuid.UUID, account_id: uuid.UUID, data: Mapping[str, Any],
           provider: PaymentProvider, *, description: str, return_url: str, created_by: uuid.UUID | None = None,
           now: datetime | None = None) -> Outcome:
    """Pay ahead: `data` is {amount, currency, payer, card?}; the money becomes the account's credit in that
    currency (recorded at once, or when the provider's notice arrives)."""
    currency = data["currency"]
    exponent_of(currency)
    amount = data["amount"]
    payer = _payer(data.get("payer"))
    reference = uuid.uuid4()
    outcome = provider.pay(_request(reference, amount, currency, description, payer, card_of(data.get("card")),
                                    return_url, {"porta_firm_id": str(firm_id), "porta_account_id": str(account_id)}))
    if isinstance(outcome, Charged):
        return Outcome(payment=ledger.record_credit(
            session, firm_id, account_id, currency, amount, "card", reference=_card_reference(outcome), payer=payer,
            provider=outcome.provider, provider_ref=outcome.charge_id, created_by=created_by, now=now))
    return Outcome(checkout=_checkout(session, outcome, reference, firm_id, account_id, None, currency, amount, payer,
                                      now))


def what_matters(data: Mapping[str, Any]) -> dict[str, Any]:
    """What makes two payment requests the same (for their Idempotency-Key): the card only by its last
    digits, so no card number is kept, not even hashed."""
    card = data.get("card") or None
    return {**{k: v for k, v in data.items() if k != "card"},
            "card": card and {"last4": card["number"][-4:], "exp": [card["exp_month"], card["exp_year"]]}}


def issued_invoices(session: Session, firm_id: uuid.UUID, account_id: uuid.UUID, status: str | None, limit: int,
                    cursor: str | None) -> tuple[list[Invoice], str | None]:
    """The account's invoices its client may see: issued ones (a draft is nobody's business yet)."""
    query = select(Invoice).where(Invoice.firm_id == firm_id, Invoice.account_id == account_id,
                                  Invoice.number.is_not(None))
    if status is not None:
        query = query.where(Invoice.status == status)
    return newest_first(session, query, Invoice, limit, cursor)


def issued_invoice(session: Session, firm_id: uuid.UUID, account_id: uuid.UUID, invoice_id: uuid.UUID) -> Invoice:
    """One issued invoice of the account; a draft, or another account's, is as unknown as none."""
    invoice = invoices.get(session, firm_id, invoice_id)
    if invoice.account_id != account_id or invoice.number is None:
        raise NotFound(invoices.NO_SUCH_INVOICE)
    return invoice


def _card_reference(charged: Charged) -> str:
    return f"Card ending {charged.card_last4}" if charged.card_last4 else charged.charge_id


# -- the provider's notice: a checkout was paid ----------------------------------------------------------


def notice_of(payload: str) -> dict[str, Any]:
    """A webhook body as JSON, not yet verified (BadRequest when it is no JSON object)."""
    try:
        notice = json.loads(payload)
    except ValueError:
        raise BadRequest("The body is not a Stripe event.") from None
    if not isinstance(notice, dict):
        raise BadRequest("The body is not a Stripe event.")
    return notice


def is_paid_checkout(event: Mapping[str, Any]) -> bool:
    """A (verified) event that may mean a checkout's money arrived; others are acknowledged and ignored."""
    data = event.get("data")
    target = data.get("object") if isinstance(data, dict) else None
    return event.get("type") in PAID_EVENTS and isinstance(target, dict) and target.get("object") == "checkout.session"


def firm_of_notice(event: Mapping[str, Any]) -> uuid.UUID | None:
    """The firm an (unverified) Stripe event is for, from the metadata we gave its session: it only says
    whose webhook secret must verify it."""
    try:
        found = event["data"]["object"]["metadata"]["porta_firm_id"]
        return uuid.UUID(str(found))
    except (KeyError, TypeError, ValueError, AttributeError):
        return None


def webhook_secret(row: PaymentSettings | None, installation: Installation) -> str:
    if row is None or not row.stripe_webhook_secret:
        raise BadRequest("This firm has no Stripe webhook secret: the event cannot be verified.")
    return ProviderKeySeal(installation.sealing_keys).open(row.stripe_webhook_secret)


@dataclass(frozen=True)
class Completion:
    """What a paid checkout became: its `payment`, and whether this notice recorded it (False: an earlier one
    did, or the checkout is not paid yet and `payment` is None)."""

    checkout: CheckoutSession
    payment: Payment | None
    recorded: bool


def complete_checkout(session: Session, firm_id: uuid.UUID, event: Mapping[str, Any],
                      now: datetime | None = None) -> Completion:
    """Record the payment of a verified `checkout.session.completed` (or async success) event, once.

    The checkout row is locked first: a notice delivered twice at once waits, then finds the payment the
    first recorded. The amount is what Stripe says it took; money for an invoice that no longer takes it
    (paid or voided meanwhile, or less due than paid) becomes the account's credit."""
    stripe_session = event["data"]["object"]
    checkout = session.scalars(
        select(CheckoutSession).where(CheckoutSession.provider == stripe_checkout.NAME,
                                      CheckoutSession.session_id == str(stripe_session.get("id")),
                                      CheckoutSession.firm_id == firm_id)
        .with_for_update().execution_options(populate_existing=True)).one_or_none()
    if checkout is None:
        raise NotFound("No payment was started here with this Checkout Session.")
    if checkout.payment_id is not None:
        return Completion(checkout, session.get(Payment, checkout.payment_id), recorded=False)
    if stripe_session.get("payment_status") not in ("paid", "no_payment_required"):
        return Completion(checkout, None, recorded=False)  # a delayed method: its success event comes later
    amount, currency = stripe_session.get("amount_total"), str(stripe_session.get("currency") or "").upper()
    if currency != checkout.currency or not isinstance(amount, int) or isinstance(amount, bool) or amount < 1:
        raise BadRequest("The event's amount or currency is not the checkout's.")
    at = _now(now)
    payer = checkout.payer or {}
    reference = f"Stripe {stripe_session.get('payment_intent') or checkout.session_id}"
    payment = None
    if checkout.invoice_id is not None:
        invoice = ledger.lock_invoice(session, checkout.invoice_id)
        amounts = ledger.amounts_of(session, invoice)
        if invoices.payable(invoice, amounts) and amount <= amounts.due:
            payment = ledger.record_payment(session, invoice, amount, "card", reference=reference, payer=payer,
                                            provider=stripe_checkout.NAME, provider_ref=checkout.session_id, now=at)
        else:
            reference = (f"Paid through Stripe for {invoices.display_number(invoice.number)} after it stopped "
                         f"taking money: kept as credit")
    if payment is None:
        payment = ledger.record_credit(session, checkout.firm_id, checkout.account_id, checkout.currency, amount,
                                       "card", reference=reference[:200], payer=payer, provider=stripe_checkout.NAME,
                                       provider_ref=checkout.session_id, now=at)
    checkout.status = "completed"
    checkout.event_id = str(event.get("id") or "") or None
    checkout.payment_id = payment.id
    checkout.completed_at = at
    session.flush()
    return Completion(checkout, payment, recorded=True)
