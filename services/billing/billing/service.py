"""The billing service's entrypoints: validate (the contract), authorise (crm), call the domain, emit, dump.

Staff writes need `manage_billing`; staff reads need sight of the account (shared.access). Every
money-moving write takes `idempotency_key` (the gateway's `Idempotency-Key` header): billing/idempotency.py.
Answers of writes never carry the pay link's token (they are stored for replay): the url comes with a read.
"""
from __future__ import annotations

import base64
import logging
import uuid
from typing import Any

from nameko.rpc import RpcProxy
from nameko.timer import timer

from billing import idempotency, invoices, ledger, payments, pdf
from billing.models import Invoice, LedgerEntry, Payment, messaging
from billing.money import exponent_of
from billing.providers import stripe_checkout
from shared.access import Caller, authorize, authorize_as
from shared.context import Principal, require_principal
from shared.contracts.billing import (
    INVOICE_ISSUED,
    INVOICE_REMINDER_DUE,
    INVOICE_VOIDED,
    PAYMENT_RECORDED,
    PAYMENT_REFUNDED,
    CreditCreateSchema,
    CreditSchema,
    InvoiceCreateSchema,
    InvoicePageSchema,
    InvoicePatchSchema,
    InvoicePdfSchema,
    InvoiceQuerySchema,
    InvoiceSchema,
    LedgerPageSchema,
    LedgerQuerySchema,
    OnlinePaymentCreateSchema,
    PayLinkSchema,
    PaymentCreateSchema,
    PaymentPageSchema,
    PaymentResultSchema,
    PaymentSchema,
    PaymentSettingsSchema,
    PaymentSettingsUpdateSchema,
    PortalInvoicePageSchema,
    PortalPaymentCreateSchema,
    PrepaymentCreateSchema,
    PrepaymentResultSchema,
    PublicInvoiceSchema,
    RefundCreateSchema,
    RefundSchema,
    WebhookReceiptSchema,
)
from shared.contracts.links import live_page_urls
from shared.dependencies import SYSTEM, Database
from shared.entrypoints import idempotent, write
from shared.errors import BadRequest, Forbidden, NotFound
from shared.ids import parse_id
from shared.rpc import rpc
from shared.schemas import schema, validated
from shared.service import PortaService

log = logging.getLogger(__name__)

REMINDER_SWEEP = 300  # seconds between two looks for invoices to remind of


class BillingService(PortaService):
    name = "billing"
    db = Database(messaging)
    crm = RpcProxy("crm")
    links = RpcProxy("links")

    # -- who is calling ---------------------------------------------------------------------------

    def _staff(self) -> Principal:
        return require_principal(self.context.principal).require_staff()

    def _account(self, account_id: Any, right: str | None = None) -> Caller:
        """Staff with sight of the account (and `right`, for writes)."""
        return authorize(self.crm, self._staff(), account_id, right)

    def _invoice(self, invoice_id: Any, right: str | None = None) -> tuple[Invoice, Caller]:
        staff = self._staff()
        invoice = invoices.get(self.db.session, uuid.UUID(staff.firm_id), parse_id(invoice_id, "invoice"))
        return invoice, authorize_as(invoices.NO_SUCH_INVOICE, self.crm, staff, invoice.account_id, right)

    def _payment(self, payment_id: Any, right: str | None = None) -> tuple[Payment, Caller]:
        staff = self._staff()
        payment = ledger.get_payment(self.db.session, uuid.UUID(staff.firm_id), parse_id(payment_id, "payment"))
        return payment, authorize_as(ledger.NO_SUCH_PAYMENT, self.crm, staff, payment.account_id, right)

    # -- dumping ----------------------------------------------------------------------------------

    def _fields(self, invoice: Invoice, url: str | None = None) -> dict:
        return invoices.as_fields(invoice, ledger.amounts_of(self.db.session, invoice), url)

    def _answer(self, invoice: Invoice) -> dict:
        """A write's reply: no url, as a stored (replayable) reply must not hold the link's token."""
        return schema(InvoiceSchema).dump(self._fields(invoice))

    def _with_urls(self, firm_id: uuid.UUID, found: list[Invoice]) -> list[dict]:
        """Each invoice with its pay link (the links service keeps the token sealed); null when not live."""
        amounts = ledger.invoice_amounts(self.db.session, [i.id for i in found])
        ids = [str(i.link_id) for i in found if i.link_id is not None and i.status != "void"]
        urls = live_page_urls(self.links, str(firm_id), ids, self.settings.base_url)
        return [invoices.as_fields(i, amounts[i.id], urls.get(str(i.link_id))) for i in found]

    def _payment_fields(self, payment: Payment, refunds: list[LedgerEntry] | None = None) -> dict:
        refunds = ledger.refunded_of(self.db.session, [payment.id])[payment.id] if refunds is None else refunds
        return {**{c.key: getattr(payment, c.key) for c in Payment.__table__.columns},
                "exponent": exponent_of(payment.currency), "amount_refunded": sum(r.amount for r in refunds),
                "refundable": ledger.refundable(self.db.session, payment, refunds),
                "refunds": [_refund_fields(r) for r in refunds]}

    # -- invoices (staff) -------------------------------------------------------------------------

    @rpc
    @write
    def create_invoice(self, account_id: str, payload: dict) -> dict:
        """A draft of the account: no number, no money moved."""
        data = validated(schema(InvoiceCreateSchema), payload)
        caller = self._account(account_id, "manage_billing")
        invoice = invoices.draft(self.db.session, caller.firm_id, caller.account_id, data, caller.user_id)
        return self._answer(invoice)

    @rpc
    @write
    def update_invoice(self, invoice_id: str, payload: dict) -> dict:
        data = validated(schema(InvoicePatchSchema), payload)
        invoice, _ = self._invoice(invoice_id, "manage_billing")
        invoice = invoices.get(self.db.session, invoice.firm_id, invoice.id, lock=True)
        return self._answer(invoices.update_draft(self.db.session, invoice, data))

    @rpc
    def get_invoice(self, invoice_id: str) -> dict:
        invoice, caller = self._invoice(invoice_id)
        return schema(InvoiceSchema).dump(self._with_urls(caller.firm_id, [invoice])[0])

    @rpc
    def list_invoices(self, account_id: str, query: dict) -> dict:
        params = validated(schema(InvoiceQuerySchema), query)
        caller = self._account(account_id)
        found, cursor = invoices.list_for_account(self.db.session, caller.firm_id, caller.account_id,
                                                  params["status"], params["limit"], params["cursor"])
        return schema(InvoicePageSchema).dump({"items": self._with_urls(caller.firm_id, found), "next_cursor": cursor})

    @rpc
    @write
    def issue_invoice(self, invoice_id: str, idempotency_key: str | None = None) -> dict:
        """The firm's next number, the charge on the ledger, the account's credit applied, a pay link (kind
        `invoice`, retrievable) and the invoice email (`invoice_issued`)."""
        invoice, caller = self._invoice(invoice_id, "manage_billing")
        replay = idempotency.begin(self.db.session, caller.firm_id, idempotency_key,
                                   idempotency.fingerprint("issue_invoice", invoice.id, None))
        if replay is not None:
            return replay.answer
        invoice = invoices.issue(self.db.session, invoice, self._recipients(caller), caller.account.get("name"),
                                 caller.user_id)
        link = self.links.issue_link(payload={
            "firm_id": str(invoice.firm_id), "kind": "invoice", "target": {"type": "invoice", "id": str(invoice.id)},
            "single_use": False, "retrievable": True, "replace": True, "expires_at": None})
        invoices.attach_link(invoice, uuid.UUID(link["id"]))
        answer = self._answer(invoice)
        self._emit_invoice(INVOICE_ISSUED, invoice, answer)
        idempotency.finish(self.db.session, caller.firm_id, idempotency_key, answer)
        return answer

    def _recipients(self, caller: Caller) -> list[str]:
        """The account's client addresses (its portal access rows); notifications decides per address."""
        rows = self.crm.list_access(account_id=str(caller.account_id))["items"]
        return [row["email"] for row in rows if row.get("email")]

    @rpc
    @write
    def void_invoice(self, invoice_id: str) -> dict:
        """An issued invoice nothing was paid on: its charge reversed. Its pay link stays live so that the page
        says the invoice was voided, and a payment through it is a 409 (API.md), not a bare 410."""
        invoice, caller = self._invoice(invoice_id, "manage_billing")
        invoice = invoices.void(self.db.session, invoice, caller.user_id)
        answer = self._answer(invoice)
        self._emit_invoice(INVOICE_VOIDED, invoice, answer)
        return answer

    @rpc
    def invoice_pdf(self, invoice_id: str) -> dict:
        """The invoice as a PDF, base64 in JSON (a few kilobytes)."""
        invoice, _ = self._invoice(invoice_id)
        return self._pdf(invoice)

    def _pdf(self, invoice: Invoice) -> dict:
        fields = schema(InvoiceSchema).dump(self._fields(invoice))
        firm_name = self.crm.describe_firm(firm_id=str(invoice.firm_id))["name"]
        content = pdf.render(fields, firm_name, invoice.billed_to or "")
        return schema(InvoicePdfSchema).dump({"filename": pdf.filename(fields), "content_type": "application/pdf",
                                        "content_base64": base64.b64encode(content).decode()})

    @rpc
    def render_invoice_pdf(self, firm_id: str, invoice_id: str) -> dict:
        """For services acting for a firm (notifications attaches it to the invoice email)."""
        firm = self.context.for_firm(firm_id)
        return self._pdf(invoices.get(self.db.session, firm, parse_id(invoice_id, "invoice")))

    # -- payments and refunds (staff) ------------------------------------------------------------

    @rpc
    @write
    def record_offline_payment(self, invoice_id: str, payload: dict, idempotency_key: str | None = None) -> dict:
        """Money staff received (cash, check, bank transfer, other) on an issued invoice."""
        data = validated(schema(PaymentCreateSchema), payload)
        invoice, caller = self._invoice(invoice_id, "manage_billing")
        replay = idempotency.begin(self.db.session, caller.firm_id, idempotency_key,
                                   idempotency.fingerprint("record_offline_payment", invoice.id, payload))
        if replay is not None:
            return replay.answer
        payment = ledger.record_payment(self.db.session, invoice, data["amount"], data["method"], data["reference"],
                                        created_by=caller.user_id)
        answer = self.payment_recorded(payment)
        idempotency.finish(self.db.session, caller.firm_id, idempotency_key, answer)
        return answer

    def payment_recorded(self, payment: Payment) -> dict:
        """After `ledger.record_payment` or `ledger.record_credit`: the `payment_recorded` event (the payment
        confirmation email, the firm's Inbox+) and the payment as PaymentSchema dumps it."""
        answer = schema(PaymentSchema).dump(self._payment_fields(payment))
        invoice = invoices.of_payment(self.db.session, payment)
        self._emit_payment(PAYMENT_RECORDED, payment, invoice, answer)
        return answer

    @rpc
    def list_invoice_payments(self, invoice_id: str) -> dict:
        invoice, _ = self._invoice(invoice_id)
        found = ledger.payments_of(self.db.session, invoice)
        refunds = ledger.refunded_of(self.db.session, [p.id for p in found])
        return schema(PaymentPageSchema).dump({"items": [self._payment_fields(p, refunds[p.id]) for p in found],
                                         "next_cursor": None})

    @rpc
    def get_payment(self, payment_id: str) -> dict:
        payment, _ = self._payment(payment_id)
        return schema(PaymentSchema).dump(self._payment_fields(payment))

    @rpc
    @write
    def refund_payment(self, payment_id: str, payload: dict, idempotency_key: str | None = None) -> dict:
        """Part or all of a payment back; never more than was paid and not refunded (422). Recorded on the
        ledger; giving the money back through a provider is the payments module's."""
        data = validated(schema(RefundCreateSchema), payload)
        payment, caller = self._payment(payment_id, "manage_billing")
        replay = idempotency.begin(self.db.session, caller.firm_id, idempotency_key,
                                   idempotency.fingerprint("refund_payment", payment.id, payload))
        if replay is not None:
            return replay.answer
        entry = ledger.refund(self.db.session, payment, data["amount"], data["reason"], caller.user_id)
        answer = self.refund_recorded(payment, entry)
        idempotency.finish(self.db.session, caller.firm_id, idempotency_key, answer)
        return answer

    def refund_recorded(self, payment: Payment, entry: LedgerEntry) -> dict:
        """After `ledger.refund`: the `payment_refunded` event (the refund notice) and RefundResultSchema's answer."""
        payment_answer = schema(PaymentSchema).dump(self._payment_fields(payment))
        refund = schema(RefundSchema).dump(_refund_fields(entry))
        invoice = invoices.of_payment(self.db.session, payment)
        self._emit_payment(PAYMENT_REFUNDED, payment, invoice, payment_answer, refund=refund)
        return {"refund": refund, "payment": payment_answer}  # RefundResultSchema, each part dumped already

    # -- credit and the ledger (staff) -----------------------------------------------------------

    @rpc
    def get_credit(self, account_id: str) -> dict:
        caller = self._account(account_id)
        balances = self._balances(caller.firm_id, caller.account_id)
        return schema(CreditSchema).dump({"balances": balances, "payment": None})

    def _balances(self, firm_id: uuid.UUID, account_id: uuid.UUID) -> list[dict]:
        return [{"currency": c, "amount": a} for c, a in ledger.credit_balances(self.db.session, firm_id,
                                                                                account_id).items()]

    @rpc
    @write
    def record_prepayment(self, account_id: str, payload: dict, idempotency_key: str | None = None) -> dict:
        """A prepayment staff received offline: the account's credit in that currency grows."""
        data = validated(schema(CreditCreateSchema), payload)
        caller = self._account(account_id, "manage_billing")
        replay = idempotency.begin(self.db.session, caller.firm_id, idempotency_key,
                                   idempotency.fingerprint("record_prepayment", caller.account_id, payload))
        if replay is not None:
            return replay.answer
        payment = ledger.record_credit(self.db.session, caller.firm_id, caller.account_id, data["currency"],
                                       data["amount"], data["method"], data["reference"], created_by=caller.user_id)
        # CreditSchema's shape; the payment is dumped already (and emitted with it).
        answer = {"balances": self._balances(caller.firm_id, caller.account_id),
                  "payment": self.payment_recorded(payment)}
        idempotency.finish(self.db.session, caller.firm_id, idempotency_key, answer)
        return answer

    @rpc
    def list_ledger(self, account_id: str, query: dict) -> dict:
        """Every entry of the account, oldest first."""
        params = validated(schema(LedgerQuerySchema), query)
        caller = self._account(account_id)
        rows, cursor = ledger.entries(self.db.session, caller.firm_id, caller.account_id, params["limit"],
                                      params["cursor"])
        return schema(LedgerPageSchema).dump({"items": rows, "next_cursor": cursor})

    # -- the pay link (the person with the link, through the gateway) ----------------------------

    def linked_invoice(self, token: str, address: str) -> Invoice:
        """The issued invoice a live `invoice` link stands for (links counts wrong guesses). A void invoice's
        link stays live: the page says so and `payable` is false."""
        link = self.links.resolve_link(token=token, address=address, kind="invoice")
        invoice = invoices.get(self.db.session, uuid.UUID(link["firm_id"]), parse_id(link["target"]["id"], "invoice"))
        if invoice.number is None:
            raise NotFound(invoices.NO_SUCH_INVOICE)
        return invoice

    @rpc
    def describe_invoice_link(self, token: str, address: str) -> dict:
        """What the pay page shows: the invoice, what is due, and whether it still takes money."""
        invoice = self.linked_invoice(token, address)
        amounts = ledger.amounts_of(self.db.session, invoice)
        return schema(PublicInvoiceSchema).dump({**invoices.as_fields(invoice, amounts), "firm_id": invoice.firm_id,
                                           "payable": invoices.payable(invoice, amounts)})

    @rpc
    def invoice_pdf_for_link(self, token: str, address: str) -> dict:
        """The invoice's PDF for the person with its pay link."""
        return self._pdf(self.linked_invoice(token, address))

    # -- events ---------------------------------------------------------------------------------

    def _names(self, invoice: Invoice | None, account_id: uuid.UUID, firm_id: uuid.UUID) -> dict:
        firm_name = self.crm.describe_firm(firm_id=str(firm_id))["name"]
        account_name = (invoice.billed_to if invoice is not None else None) or ""
        return {"firm_name": firm_name, "account_name": account_name}

    def _emit_invoice(self, event: Any, invoice: Invoice, answer: dict, **extra: Any) -> None:
        self.db.emit(event, {"invoice": answer, "recipients": list(invoice.recipients or []),
                             **self._names(invoice, invoice.account_id, invoice.firm_id), **extra},
                     firm_id=invoice.firm_id, account_id=invoice.account_id)

    def _emit_payment(self, event: Any, payment: Payment, invoice: Invoice | None, payment_answer: dict,
                      **extra: Any) -> None:
        """Payment events go to whoever paid (the payer's address), else to the invoice's recipients."""
        payer_email = (payment.payer or {}).get("email")
        recipients = [payer_email] if payer_email else list(invoice.recipients or []) if invoice else []
        self.db.emit(event, {"payment": payment_answer, "invoice": self._answer(invoice) if invoice else None,
                             "recipients": recipients, **self._names(invoice, payment.account_id, payment.firm_id),
                             **extra},
                     firm_id=payment.firm_id, account_id=payment.account_id)

    @timer(interval=REMINDER_SWEEP)
    @idempotent  # claims with SKIP LOCKED: another instance sweeping beside this one takes other rows
    def send_reminders(self) -> None:
        """Outstanding invoices past their reminder time: one `invoice_reminder_due` each (at most daily)."""
        self.remind_due()

    def remind_due(self, now: Any = None) -> int:
        reminders = invoices.claim_reminders(self.db.session, now)
        for reminder in reminders:
            invoice = reminder.invoice
            self.db.emit(INVOICE_REMINDER_DUE, {
                "invoice": self._answer(invoice), "recipients": list(invoice.recipients or []),
                "reminder_count": reminder.reminder_count, **self._names(invoice, invoice.account_id,
                                                                         invoice.firm_id)},
                firm_id=invoice.firm_id, account_id=invoice.account_id, actor=SYSTEM)
        return len(reminders)

    # -- payments through a provider: settings, pay link, portal, Stripe's webhook (billing/payments.py) ---

    def _installation(self) -> payments.Installation:
        return payments.Installation.of(self.settings)

    def _public_invoice(self, invoice: Invoice) -> dict:
        """The invoice as its payer sees it (PublicInvoiceSchema's fields, not yet dumped)."""
        amounts = ledger.amounts_of(self.db.session, invoice)
        return {**invoices.as_fields(invoice, amounts), "firm_id": invoice.firm_id,
                "payable": invoices.payable(invoice, amounts)}

    @rpc
    def get_payment_settings(self) -> dict:
        """The firm's provider and whether its keys are stored (never the keys): `manage_billing`."""
        staff = self._staff()
        if "manage_billing" not in self.crm.me()["rights"]:
            raise Forbidden("This needs the `manage_billing` right.")
        row = payments.settings_of(self.db.session, uuid.UUID(staff.firm_id))
        return schema(PaymentSettingsSchema).dump(payments.describe_settings(row, self._installation()))

    @rpc
    @write
    def update_payment_settings(self, payload: dict) -> dict:
        """Where the firm's clients' money goes: the owner and admins only (docs/payments.md)."""
        staff = self._staff()
        if self.crm.me()["role"] not in ("owner", "admin"):
            raise Forbidden("Only the firm's owner and admins may change where payments go.")
        data = validated(schema(PaymentSettingsUpdateSchema), payload)
        row = payments.update_settings(self.db.session, uuid.UUID(staff.firm_id), data, self._installation(),
                                       uuid.UUID(staff.user_id))
        return schema(PaymentSettingsSchema).dump(payments.describe_settings(row, self._installation()))

    @rpc
    def describe_pay_link(self, token: str, address: str) -> dict:
        """What the pay page shows: the invoice, and how its payer can pay the firm online."""
        invoice = self.linked_invoice(token, address)
        row = payments.settings_of(self.db.session, invoice.firm_id)
        installation = self._installation()
        return schema(PayLinkSchema).dump({"invoice": self._public_invoice(invoice), "payment": {
            "provider": payments.provider_name(row, installation), "test_mode": installation.test_mode}})

    @rpc
    @write
    def pay_invoice_link(self, token: str, address: str, payload: dict, idempotency_key: str | None = None) -> dict:
        """Whoever holds the pay link pays (partly): 201 `{payment, invoice}` or `{checkout_url}`."""
        invoice = self.linked_invoice(token, address)
        data = validated(schema(OnlinePaymentCreateSchema), payload)
        return self._pay_invoice(invoice, data, idempotency_key, "pay_invoice_link",
                                 f"{self.settings.base_url}/p/{token}")

    def _pay_invoice(self, invoice: Invoice, data: dict, idempotency_key: str | None, operation: str,
                     return_url: str) -> dict:
        replay = idempotency.begin(self.db.session, invoice.firm_id, idempotency_key,
                                   idempotency.fingerprint(operation, invoice.id, payments.what_matters(data)))
        if replay is not None:
            return replay.answer
        provider = payments.provider_for(payments.settings_of(self.db.session, invoice.firm_id), self._installation())
        outcome = payments.pay_invoice(self.db.session, invoice, data, provider, return_url=return_url)
        if outcome.payment is not None:
            self.payment_recorded(outcome.payment)
        answer = schema(PaymentResultSchema).dump({
            "payment": outcome.payment, "invoice": self._public_invoice(invoice) if outcome.payment else None,
            "checkout_url": outcome.checkout.checkout_url if outcome.checkout else None})
        idempotency.finish(self.db.session, invoice.firm_id, idempotency_key, answer)
        return answer

    def _client(self, account_id: Any) -> Caller:
        """A client user of the account (his portal)."""
        return authorize(self.crm, require_principal(self.context.principal).require_client(), account_id)

    @rpc
    def list_portal_invoices(self, account_id: str, query: dict) -> dict:
        """The account's issued invoices (never drafts), newest first, as their payer sees them."""
        params = validated(schema(InvoiceQuerySchema), query)
        caller = self._client(account_id)
        found, cursor = payments.issued_invoices(self.db.session, caller.firm_id, caller.account_id,
                                                 params["status"], params["limit"], params["cursor"])
        return schema(PortalInvoicePageSchema).dump({"items": [self._public_invoice(i) for i in found],
                                               "next_cursor": cursor})

    @rpc
    def get_portal_credit(self, account_id: str) -> dict:
        caller = self._client(account_id)
        balances = self._balances(caller.firm_id, caller.account_id)
        return schema(CreditSchema).dump({"balances": balances, "payment": None})

    @rpc
    @write
    def pay_portal_invoice(self, account_id: str, invoice_id: str, payload: dict,
                           idempotency_key: str | None = None) -> dict:
        """A client user pays one of the account's invoices; the payer is he unless named."""
        caller = self._client(account_id)
        invoice = payments.issued_invoice(self.db.session, caller.firm_id, caller.account_id,
                                          parse_id(invoice_id, "invoice"))
        data = validated(schema(PortalPaymentCreateSchema), payload)
        data["payer"] = data["payer"] or {"name": caller.user.get("name"), "email": caller.user.get("email")}
        return self._pay_invoice(invoice, data, idempotency_key, "pay_portal_invoice",
                                 f"{self.settings.base_url}/portal")

    @rpc
    @write
    def portal_prepayment(self, account_id: str, payload: dict, idempotency_key: str | None = None) -> dict:
        """A client user pays ahead; only while the firm's portal setting `prepayment` is on (else 403)."""
        caller = self._client(account_id)
        if not (caller.portal_settings or {}).get("prepayment"):
            raise Forbidden("This firm does not take prepayments in the portal.")
        data = validated(schema(PrepaymentCreateSchema), payload)
        data["payer"] = {"name": caller.user.get("name"), "email": caller.user.get("email")}
        replay = idempotency.begin(self.db.session, caller.firm_id, idempotency_key,
                                   idempotency.fingerprint("portal_prepayment", caller.account_id,
                                                           payments.what_matters(data)))
        if replay is not None:
            return replay.answer
        provider = payments.provider_for(payments.settings_of(self.db.session, caller.firm_id), self._installation())
        firm_name = self.crm.describe_firm(firm_id=str(caller.firm_id))["name"]
        outcome = payments.prepay(self.db.session, caller.firm_id, caller.account_id, data, provider,
                                  description=f"Prepayment to {firm_name}", created_by=caller.user_id,
                                  return_url=f"{self.settings.base_url}/portal")
        if outcome.payment is not None:
            self.payment_recorded(outcome.payment)
        answer = schema(PrepaymentResultSchema).dump({
            "payment": outcome.payment, "balances": self._balances(caller.firm_id, caller.account_id),
            "checkout_url": outcome.checkout.checkout_url if outcome.checkout else None})
        idempotency.finish(self.db.session, caller.firm_id, idempotency_key, answer)
        return answer

    @rpc
    @write
    def receive_stripe_webhook(self, payload: str, signature: str | None = None) -> dict:
        """Stripe's notice, no caller: verified with the webhook secret of the firm it names (400 when it does not
        verify: nothing recorded); a paid checkout's payment is recorded once, however often it is delivered."""
        notice = payments.notice_of(payload)
        firm_id = payments.firm_of_notice(notice)
        if firm_id is None:
            raise BadRequest("This event names no payment started here.")
        secret = payments.webhook_secret(payments.settings_of(self.db.session, firm_id), self._installation())
        stripe_checkout.verified_event(payload, signature, secret)
        if not payments.is_paid_checkout(notice):
            return schema(WebhookReceiptSchema).dump({"received": True, "recorded": False})
        completion = payments.complete_checkout(self.db.session, firm_id, notice)
        if completion.recorded:
            self.payment_recorded(completion.payment)
        return schema(WebhookReceiptSchema).dump({"received": True, "recorded": completion.recorded})


def _refund_fields(entry: LedgerEntry) -> dict[str, Any]:
    return {"id": entry.id, "payment_id": entry.payment_id, "invoice_id": entry.invoice_id,
            "account_id": entry.account_id, "currency": entry.currency, "amount": entry.amount,
            "reason": entry.memo, "created_by": entry.created_by, "created_at": entry.created_at}
