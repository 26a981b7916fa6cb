"""The billing service's contract: what its RPCs accept and return, and the events it emits.

Money is an integer of the currency's minor units everywhere (a float is a 422): 1050 EUR is 10.50 €,
1050 JPY is ¥1,050, 1050 BHD is 1.050 BD. The exponent of a currency comes from the ISO 4217 table
(the `iso4217` package, in the billing service); it travels with every invoice as `exponent`.

Every money-moving write (issue, payments, refunds, credit, the public and portal payments) takes an
`idempotency_key` beside its payload (the gateway passes the `Idempotency-Key` header): a replay
answers as the first call did, the same key with another body is a Conflict (docs/billing.md).

No schema here dumps a link token: an invoice's `url` is filled in on reads (links' `reveal_links`),
never stored in a replayable answer nor carried by an event.
"""
from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from shared.events import declare
from shared.schemas import Timestamp, page_schema

INVOICE_STATUSES = ("draft", "open", "partially_paid", "paid", "void", "partially_refunded", "refunded")
# Ledger entry kinds. `void` reverses the charge of an invoice voided before anything was paid on it.
LEDGER_KINDS = ("charge", "payment", "credit", "credit_applied", "refund", "void")
OFFLINE_METHODS = ("cash", "check", "bank_transfer", "other")
# `card`: through a payment provider (the test provider, Stripe).
PAYMENT_METHODS = (*OFFLINE_METHODS, "card")
PROVIDERS = ("offline", "test", "stripe")

# Bounds that keep every sum far inside PostgreSQL's bigint: 10^12 minor units per price or payment.
MAX_AMOUNT = 10**12
MAX_QUANTITY = 100_000
MAX_ITEMS = 200
MAX_KEY_LENGTH = 255  # an Idempotency-Key, as Stripe allows


def format_amount(amount: int, currency: str, exponent: int) -> str:
    """`format_amount(123456, "EUR", 2)` -> "EUR 1,234.56"; JPY (0) "JPY 1,234", BHD (3) "BHD 1.234"."""
    sign = "-" if amount < 0 else ""
    whole, minor = divmod(abs(amount), 10**exponent) if exponent else (abs(amount), 0)
    text = f"{whole:,}" + (f".{minor:0{exponent}d}" if exponent else "")
    return f"{sign}{currency} {text}"


class Currency(fields.String):
    """An ISO 4217 code in capitals; the billing service checks it names a currency with minor units."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("metadata", {"description": "ISO 4217 code, e.g. EUR, JPY (no minor unit), BHD (three)"})
        super().__init__(validate=validate.Regexp(r"^[A-Z]{3}$", error="Not an ISO 4217 currency code."), **kwargs)


def _amount(**kwargs: Any) -> fields.Integer:
    # strict: 12.5 and "1250" are refused rather than rounded or parsed; an amount is never a float.
    kwargs.setdefault("metadata", {"description": "In the currency's minor units (cents)"})
    return fields.Integer(strict=True, **kwargs)


class InvoiceItemSchema(Schema):
    description = fields.String(required=True, validate=validate.Length(min=1, max=500))
    quantity = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=MAX_QUANTITY))
    unit_price = _amount(required=True, validate=validate.Range(min=0, max=MAX_AMOUNT))


class InvoiceLineSchema(Schema):
    """An item as invoices answer it (and events carry it), with its amount."""

    description = fields.String()
    quantity = fields.Integer()
    unit_price = _amount()
    amount = _amount(metadata={"description": "quantity × unit_price, in minor units"})


class InvoiceCreateSchema(Schema):
    items = fields.List(fields.Nested(InvoiceItemSchema), required=True,
                        validate=validate.Length(min=1, max=MAX_ITEMS))
    currency = Currency(required=True)
    due_date = fields.Date(required=True, metadata={"description": "YYYY-MM-DD"})
    memo = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=5000))


class InvoicePatchSchema(Schema):
    """A draft's fields; only those given change."""

    items = fields.List(fields.Nested(InvoiceItemSchema), validate=validate.Length(min=1, max=MAX_ITEMS))
    currency = Currency()
    due_date = fields.Date()
    memo = fields.String(allow_none=True, validate=validate.Length(max=5000))

    @validates_schema
    def _something(self, data: dict[str, Any], **_: Any) -> None:
        if not data:
            raise ValidationError("Name at least one field to change.", "_schema")


class InvoiceQuerySchema(Schema):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    cursor = fields.String(load_default=None)
    status = fields.String(load_default=None, validate=validate.OneOf(INVOICE_STATUSES))


class InvoiceSchema(Schema):
    id = fields.UUID()
    account_id = fields.UUID()
    number = fields.Integer(allow_none=True, metadata={"description": "The firm's next number when issued; "
                                                                      "gapless and increasing. null for a draft"})
    display_number = fields.String(allow_none=True, metadata={"description": "e.g. INV-0042"})
    status = fields.String(validate=validate.OneOf(INVOICE_STATUSES))
    currency = fields.String()
    exponent = fields.Integer(metadata={"description": "Digits after the decimal point (ISO 4217): 2 EUR, 0 JPY"})
    items = fields.List(fields.Nested(InvoiceLineSchema))
    subtotal = _amount()
    total = _amount()
    amount_paid = _amount(metadata={"description": "Money paid on it (payments), refunds not deducted"})
    amount_refunded = _amount()
    credit_applied = _amount(metadata={"description": "Prepaid credit applied to it"})
    amount_due = _amount(metadata={"description": "total - amount_paid - credit_applied; 0 when void"})
    due_date = fields.Date()
    memo = fields.String(allow_none=True)
    url = fields.String(allow_none=True, metadata={"description": "The pay link (`/p/<token>`); null for a "
                                                                  "draft, a void invoice, and in write answers"})
    link_id = fields.UUID(allow_none=True, load_default=None)
    created_by = fields.UUID()
    created_at = Timestamp()
    updated_at = Timestamp()
    issued_at = Timestamp(allow_none=True)
    voided_at = Timestamp(allow_none=True)


InvoicePageSchema = page_schema(InvoiceSchema, "InvoicePage")


class PaymentCreateSchema(Schema):
    """An offline payment staff record."""

    amount = _amount(required=True, validate=validate.Range(min=1, max=MAX_AMOUNT))
    method = fields.String(required=True, validate=validate.OneOf(OFFLINE_METHODS))
    reference = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))


class PayerSchema(Schema):
    name = fields.String(allow_none=True, validate=validate.Length(max=200))
    email = fields.Email(allow_none=True, validate=validate.Length(max=254))


class RefundSchema(Schema):
    id = fields.UUID()
    payment_id = fields.UUID()
    invoice_id = fields.UUID(allow_none=True)
    account_id = fields.UUID()
    currency = fields.String()
    amount = _amount()
    reason = fields.String(allow_none=True)
    created_by = fields.UUID(allow_none=True)
    created_at = Timestamp()


class PaymentSchema(Schema):
    id = fields.UUID()
    invoice_id = fields.UUID(allow_none=True, metadata={"description": "null for a prepayment (account credit)"})
    account_id = fields.UUID()
    currency = fields.String()
    exponent = fields.Integer(metadata={"description": "Digits after the decimal point (ISO 4217)"})
    amount = _amount()
    amount_refunded = _amount()
    refundable = _amount(metadata={"description": "What a refund may still give back"})
    method = fields.String(validate=validate.OneOf(PAYMENT_METHODS))
    reference = fields.String(allow_none=True)
    provider = fields.String(validate=validate.OneOf(PROVIDERS))
    provider_ref = fields.String(allow_none=True)
    payer = fields.Nested(PayerSchema, allow_none=True)
    refunds = fields.List(fields.Nested(RefundSchema))
    created_by = fields.UUID(allow_none=True)
    created_at = Timestamp()


PaymentPageSchema = page_schema(PaymentSchema, "PaymentPage")


class RefundCreateSchema(Schema):
    amount = _amount(required=True, validate=validate.Range(min=1, max=MAX_AMOUNT))
    reason = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500))


class RefundResultSchema(Schema):
    refund = fields.Nested(RefundSchema)
    payment = fields.Nested(PaymentSchema)


class CreditCreateSchema(Schema):
    """A prepayment staff received offline: it becomes the account's credit in that currency."""

    amount = _amount(required=True, validate=validate.Range(min=1, max=MAX_AMOUNT))
    currency = Currency(required=True)
    method = fields.String(required=True, validate=validate.OneOf(OFFLINE_METHODS))
    reference = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))


class BalanceSchema(Schema):
    currency = fields.String()
    amount = _amount()


class CreditSchema(Schema):
    """An account's prepaid credit, one balance per currency it ever had credit in."""

    balances = fields.List(fields.Nested(BalanceSchema))
    payment = fields.Nested(PaymentSchema, allow_none=True,
                            metadata={"description": "The prepayment just recorded (POST only)"})


class LedgerEntrySchema(Schema):
    id = fields.UUID()
    sequence = fields.Integer(metadata={"description": "Orders the ledger: every entry comes after the one before"})
    kind = fields.String(validate=validate.OneOf(LEDGER_KINDS))
    account_id = fields.UUID()
    currency = fields.String()
    amount = _amount(metadata={"description": "Always positive; `kind` says which way it moves"})
    invoice_id = fields.UUID(allow_none=True)
    payment_id = fields.UUID(allow_none=True)
    memo = fields.String(allow_none=True)
    created_by = fields.UUID(allow_none=True)
    created_at = Timestamp()


class LedgerQuerySchema(Schema):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    cursor = fields.String(load_default=None)


LedgerPageSchema = page_schema(LedgerEntrySchema, "LedgerPage")


class PublicInvoiceSchema(Schema):
    """What a pay link shows: the invoice, never the account's other business."""

    id = fields.UUID()
    firm_id = fields.UUID()
    number = fields.Integer(allow_none=True)
    display_number = fields.String(allow_none=True)
    status = fields.String(validate=validate.OneOf(INVOICE_STATUSES))
    currency = fields.String()
    exponent = fields.Integer()
    items = fields.List(fields.Nested(InvoiceLineSchema))
    total = _amount()
    amount_paid = _amount()
    credit_applied = _amount()
    amount_due = _amount()
    due_date = fields.Date()
    memo = fields.String(allow_none=True)
    issued_at = Timestamp(allow_none=True)
    payable = fields.Boolean(metadata={"description": "It still takes money (not paid, not void)"})


class InvoicePdfSchema(Schema):
    filename = fields.String()
    content_type = fields.String()
    content_base64 = fields.String()


# -- events ---------------------------------------------------------------------------------------------
# The envelope's firm_id and account_id are the invoice's (or the payment's). `recipients` are the client
# addresses billing emails about the invoice (the account's portal access rows when it was issued);
# notifications decides per address (NOTIFY, the `invoices_payments` category).


class InvoiceEventSchema(Schema):
    invoice = fields.Nested(InvoiceSchema, required=True)
    recipients = fields.List(fields.Email(), required=True)
    firm_name = fields.String(required=True)
    account_name = fields.String(required=True)


class InvoiceReminderSchema(InvoiceEventSchema):
    reminder_count = fields.Integer(required=True, metadata={"description": "1 for the first reminder"})


class PaymentEventSchema(Schema):
    payment = fields.Nested(PaymentSchema, required=True)
    invoice = fields.Nested(InvoiceSchema, required=True, allow_none=True)
    recipients = fields.List(fields.Email(), required=True)
    firm_name = fields.String(required=True)
    account_name = fields.String(required=True)


class RefundEventSchema(PaymentEventSchema):
    refund = fields.Nested(RefundSchema, required=True)


INVOICE_ISSUED = declare("billing", "invoice_issued", InvoiceEventSchema,
                         "An invoice got its number and pay link (credit applied); its email goes out")
INVOICE_VOIDED = declare("billing", "invoice_voided", InvoiceEventSchema, "An open invoice was voided")
INVOICE_REMINDER_DUE = declare("billing", "invoice_reminder_due", InvoiceReminderSchema,
                               "An outstanding invoice is past due: remind its recipients (at most daily)")
PAYMENT_RECORDED = declare("billing", "payment_recorded", PaymentEventSchema,
                           "Money received: on an invoice, or a prepayment (invoice null) that became credit")
PAYMENT_REFUNDED = declare("billing", "payment_refunded", RefundEventSchema, "Part or all of a payment went back")


# -- payments (providers, pay page, portal): the payments helper's -------------------------------------------
# A payer pays online through the firm's provider: `test` (a card processor in test mode, only while
# PORTA_PAYMENTS_TEST_MODE is on) takes the card here and answers at once; `stripe` answers a Checkout
# page (`checkout_url`) and the payment is recorded when Stripe's signed webhook arrives (docs/payments.md).

ONLINE_PROVIDERS = ("test", "stripe")


class CardSchema(Schema):
    """A card for the `test` provider (Stripe takes cards on its own page, never here). Never stored."""

    number = fields.String(required=True, validate=validate.Regexp(r"^[0-9]{12,19}$",
                                                                   error="12 to 19 digits, without spaces."))
    exp_month = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=12))
    exp_year = fields.Integer(required=True, strict=True, validate=validate.Range(min=2000, max=2199))
    cvc = fields.String(required=True, load_only=True, validate=validate.Regexp(r"^[0-9]{3,4}$",
                                                                                error="3 or 4 digits."))


class PaymentPayerSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    email = fields.Email(required=True, validate=validate.Length(max=254))


class OnlinePaymentCreateSchema(Schema):
    """A payment through the pay link: partial payments allowed, never more than is due (422)."""

    amount = _amount(required=True, validate=validate.Range(min=1, max=MAX_AMOUNT))
    payer = fields.Nested(PaymentPayerSchema, required=True)
    card = fields.Nested(CardSchema, load_default=None, allow_none=True,
                         metadata={"description": "Needed with the `test` provider; none with `stripe`"})


class PortalPaymentCreateSchema(OnlinePaymentCreateSchema):
    """A client user paying from the portal: the payer is he unless named."""

    payer = fields.Nested(PaymentPayerSchema, load_default=None, allow_none=True)


class PrepaymentCreateSchema(Schema):
    """A client user paying ahead from the portal: the money becomes the account's credit in `currency`."""

    amount = _amount(required=True, validate=validate.Range(min=1, max=MAX_AMOUNT))
    currency = Currency(required=True)
    card = fields.Nested(CardSchema, load_default=None, allow_none=True)


class PublicPaymentSchema(Schema):
    """A payment as the one who paid sees it."""

    id = fields.UUID()
    invoice_id = fields.UUID(allow_none=True)
    currency = fields.String()
    amount = _amount()
    method = fields.String()
    reference = fields.String(allow_none=True, metadata={"description": "e.g. Card ending 4242"})
    created_at = Timestamp()


class PaymentResultSchema(Schema):
    """201: `{payment, invoice}` when the money was taken at once (`test`), `{checkout_url}` with `stripe`."""

    payment = fields.Nested(PublicPaymentSchema, allow_none=True)
    invoice = fields.Nested(PublicInvoiceSchema, allow_none=True)
    checkout_url = fields.String(allow_none=True, metadata={"description": "Stripe's page: the payer pays there"})


class PrepaymentResultSchema(Schema):
    payment = fields.Nested(PublicPaymentSchema, allow_none=True)
    balances = fields.List(fields.Nested(BalanceSchema), metadata={"description": "The account's credit now"})
    checkout_url = fields.String(allow_none=True)


PortalInvoicePageSchema = page_schema(PublicInvoiceSchema, "PortalInvoicePage")


class PayOptionsSchema(Schema):
    """How a payer can pay the firm online: `test` (card fields here), `stripe` (Stripe's page) or null."""

    provider = fields.String(allow_none=True)
    test_mode = fields.Boolean(metadata={"description": "Test card payments only: no money moves"})


class LinkInvoiceSchema(PublicInvoiceSchema):
    """PublicInvoiceSchema as the gateway passes billing's dumped reply on: its dates are the strings they are."""

    due_date = fields.String(metadata={"format": "date"})
    issued_at = fields.String(allow_none=True, metadata={"format": "date-time"})


class PayLinkSchema(Schema):
    """What a pay link (`invoice` kind) shows beside the firm's name."""

    invoice = fields.Nested(PublicInvoiceSchema)
    payment = fields.Nested(PayOptionsSchema)


class StripeSettingsSchema(Schema):
    secret_key_set = fields.Boolean()
    webhook_secret_set = fields.Boolean()
    webhook_url = fields.String(metadata={"description": "The endpoint to give Stripe (checkout.session.completed)"})


class PaymentSettingsSchema(Schema):
    provider = fields.String(allow_none=True, metadata={"description": "null: no online payments"})
    test_mode = fields.Boolean(metadata={"description": "This installation offers the `test` provider"})
    available_providers = fields.List(fields.String())
    stripe = fields.Nested(StripeSettingsSchema)
    updated_at = Timestamp(allow_none=True)


class PaymentSettingsUpdateSchema(Schema):
    """Keys are write-only: given, sealed and stored; left out, kept; null, forgotten."""

    provider = fields.String(required=True, validate=validate.OneOf(ONLINE_PROVIDERS))
    stripe_secret_key = fields.String(load_only=True, allow_none=True, validate=validate.Regexp(
        r"^(sk|rk)_(test|live)_[0-9A-Za-z]{8,240}$", error="A Stripe secret key (sk_live_..., sk_test_...)."))
    stripe_webhook_secret = fields.String(load_only=True, allow_none=True, validate=validate.Regexp(
        r"^whsec_[0-9A-Za-z+/=]{8,240}$", error="A Stripe webhook signing secret (whsec_...)."))


class StripeEventSchema(Schema):
    """What Stripe posts to the webhook; the raw body is verified against its Stripe-Signature header."""

    id = fields.String()
    object = fields.String()
    type = fields.String()
    data = fields.Dict()


class WebhookReceiptSchema(Schema):
    received = fields.Boolean()
    recorded = fields.Boolean(metadata={"description": "This delivery recorded a payment (false on a redelivery)"})
