"""Billing in notifications (category `invoices_payments`): the new-invoice email with its pay link and PDF
attached, reminders of outstanding invoices, payment confirmations, refund notices; the firm's Inbox+
`payment_received`; the activity lines of billing's events.

Client emails go to the addresses billing names (`recipients`: the account's access rows when the invoice
was issued, or whoever paid), each as audience.decide allows (NOTIFY, the `invoices_payments` category; a
third party always). The pay link's url is revealed from links (billing's events never carry a token);
when the link is no longer live the email says nothing of paying online. How often reminders go is
billing's decision (at most daily, none once paid or void); this module sends what billing says is due.

`BillingNotices` is a mixin of NotificationsService (it uses its `crm`, `links`, `settings`, `db`,
`_staff_to_tell`, `_suppress`, `_queue_or_log`); `payment_received` is plain Python over a session.
"""
from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields
from nameko.rpc import RpcProxy
from sqlalchemy.orm import Session

from notifications import audience, inbox
from notifications.inbox import _clip, _in_order, _item, _touched
from notifications.models import InboxItem
from shared.contracts.billing import (
    INVOICE_ISSUED,
    INVOICE_REMINDER_DUE,
    PAYMENT_RECORDED,
    PAYMENT_REFUNDED,
    format_amount,
)
from shared.contracts.links import live_page_urls
from shared.entrypoints import event_handler, every_event
from shared.errors import NotFound, PortaError
from shared.schemas import schema

log = logging.getLogger(__name__)

CATEGORY = "invoices_payments"
PAYMENT_RECEIVED = "payment_received"  # the Inbox+ kind API.md names

METHOD_WORDS = {"cash": "in cash", "check": "by check", "bank_transfer": "by bank transfer", "card": "by card",
                "other": "offline"}


def _money(amount: int | None, thing: Mapping[str, Any]) -> str:
    # ISO 4217 exponents are 0 to 4; anything else is not what billing sends, and must not cost 10**huge.
    exponent = min(max(int(thing.get("exponent") or 0), 0), 4)
    return format_amount(int(amount or 0), thing["currency"], exponent)


def _number(invoice: Mapping[str, Any] | None) -> str | None:
    return (invoice or {}).get("display_number") or None


# -- what the handlers read (tolerant: fields they do not use are ignored) ---------------------------


class _EventData(Schema):
    class Meta:
        unknown = EXCLUDE


class _Invoice(_EventData):
    id = fields.UUID(required=True)
    display_number = fields.String(load_default=None, allow_none=True)
    currency = fields.String(required=True)
    exponent = fields.Integer(required=True)
    total = fields.Integer(required=True)
    amount_due = fields.Integer(required=True)
    credit_applied = fields.Integer(load_default=0)
    due_date = fields.String(required=True)
    memo = fields.String(load_default=None, allow_none=True)
    link_id = fields.UUID(load_default=None, allow_none=True)
    created_by = fields.UUID(load_default=None, allow_none=True)


class _Payment(_EventData):
    id = fields.UUID(required=True)
    invoice_id = fields.UUID(load_default=None, allow_none=True)
    currency = fields.String(required=True)
    exponent = fields.Integer(required=True)
    amount = fields.Integer(required=True)
    method = fields.String(load_default="other")
    provider = fields.String(load_default="offline")
    payer = fields.Dict(load_default=None, allow_none=True)


class _Refund(_EventData):
    amount = fields.Integer(required=True)
    reason = fields.String(load_default=None, allow_none=True)


class InvoiceNoticeSchema(_EventData):
    """billing.invoice_issued, billing.invoice_reminder_due"""

    invoice = fields.Nested(_Invoice, required=True)
    recipients = fields.List(fields.String(), required=True)
    firm_name = fields.String(required=True)
    account_name = fields.String(load_default="")
    reminder_count = fields.Integer(load_default=None, allow_none=True)


class PaymentNoticeSchema(_EventData):
    """billing.payment_recorded, billing.payment_refunded"""

    payment = fields.Nested(_Payment, required=True)
    invoice = fields.Nested(_Invoice, load_default=None, allow_none=True)
    recipients = fields.List(fields.String(), required=True)
    firm_name = fields.String(required=True)
    account_name = fields.String(load_default="")
    refund = fields.Nested(_Refund, load_default=None, allow_none=True)


# -- activity lines ---------------------------------------------------------------------------------


def _called(invoice: Mapping[str, Any] | None) -> str:
    """How a line names an invoice: "invoice INV-0042" (an invoice without a number: "an invoice")."""
    number = _number(invoice)
    return f"invoice {number}" if number else "an invoice"


def _first_up(text: str) -> str:
    return text[:1].upper() + text[1:]


def _paid_line(data: dict[str, Any]) -> str:
    payment, invoice = data["payment"], data.get("invoice")
    amount = _money(payment["amount"], payment)
    if invoice:
        return f"Payment of {amount} received for {_called(invoice)}"
    return f"Prepayment of {amount} received: credit on the account"


def _refund_line(data: dict[str, Any]) -> str:
    amount = _money(data["refund"]["amount"], data["payment"])
    return f"Refund of {amount} " + (f"on {_called(data['invoice'])}" if data.get("invoice") else "of a prepayment")


# (source, type) -> line, merged into activity.SUMMARIES.
ACTIVITY: dict[tuple[str, str], Any] = {
    ("billing", "invoice_issued"): lambda data: (
        f"{_first_up(_called(data['invoice']))} issued for {_money(data['invoice']['total'], data['invoice'])}"),
    ("billing", "invoice_voided"): lambda data: f"{_first_up(_called(data['invoice']))} voided",
    ("billing", "invoice_reminder_due"): lambda data: (
        f"Reminder {data['reminder_count']} of {_called(data['invoice'])} sent"),
    ("billing", "payment_recorded"): _paid_line,
    ("billing", "payment_refunded"): _refund_line,
}


# -- the Inbox+ ---------------------------------------------------------------------------------------


def payment_received(db: Session, user_ids: Iterable[uuid.UUID], firm_id: uuid.UUID, account_id: uuid.UUID,
                     payment: Mapping[str, Any], invoice: Mapping[str, Any] | None,
                     account_name: str) -> list[InboxItem]:
    """One item per payment and recipient: who paid how much on which invoice, and what is still due."""
    items = [_item(db, firm_id, user_id, account_id, PAYMENT_RECEIVED, uuid.UUID(str(payment["id"])))
             for user_id in _in_order(user_ids)]
    payer = payment.get("payer") or {}
    who = (payer.get("name") or "").strip() or (payer.get("email") or "").strip()
    amount = _money(payment["amount"], payment)
    for item in items:
        item.count = 1
        item.data = {"payment_id": str(payment["id"]), "invoice_id": str(invoice["id"]) if invoice else None,
                     "amount": payment["amount"], "currency": payment["currency"],
                     "payer": {"name": payer.get("name"), "email": payer.get("email")}}
        method = METHOD_WORDS.get(payment.get("method"), "")
        if invoice:
            title = f"Payment of {amount} received for invoice {_number(invoice)}"
            body = (f"{who + ' paid' if who else 'Paid'} {method} for {account_name or 'the account'}; "
                    f"{_money(invoice['amount_due'], invoice)} still due.")
        else:
            title = f"Prepayment of {amount} received"
            body = f"{who + ' paid' if who else 'Paid'} {method} ahead: credit on {account_name or 'the account'}."
        _touched(item, _clip(title, 300), " ".join(body.split()))
    return items


class BillingNotices:
    """The handlers (a mixin of NotificationsService)."""

    billing = RpcProxy("billing")
    # NotificationsService provides these.
    crm: Any
    links: Any
    db: Any
    settings: Any
    _staff_to_tell: Any
    _suppress: Any
    _queue_or_log: Any
    _invitation_url: Any

    @every_event("billing", "notifications.activity.billing")
    def record_billing_activity(self, event: dict) -> None:
        """Every billing event, whatever its type, becomes one feed entry (and has a queue to go to)."""
        self._record_activity(event)  # type: ignore[attr-defined]

    def _read(self, data_schema: Schema, event: dict) -> dict | None:
        if not event.get("account_id"):
            log.error("billing event %s names no account and is dropped", event["id"])
            return None
        try:
            return data_schema.load(event.get("data"))
        except ValidationError as exc:
            log.error("billing event %s cannot be handled and is dropped: %s", event["id"], exc.messages)
            return None

    def _pay_url(self, firm_id: str, invoice: Mapping[str, Any]) -> str | None:
        """The invoice's pay page while it takes money and its link is live; else None."""
        if not invoice.get("link_id") or invoice["amount_due"] <= 0:
            return None
        link_id = str(invoice["link_id"])
        return live_page_urls(self.links, firm_id, [link_id], self.settings.base_url).get(link_id)

    def _client_emails(self, event: dict, recipients: Iterable[str], template: str, context: dict) -> None:
        """One email per address, as audience.decide allows for `invoices_payments`."""
        firm_id, account_id = event["firm_id"], event["account_id"]
        for address in dict.fromkeys(a.strip().lower() for a in recipients if a and a.strip()):
            try:
                preferences = self.crm.client_email_preferences(firm_id=firm_id, account_id=account_id,
                                                                email=address)
            except NotFound:
                log.warning("billing event %s: account %s is gone, no email sent", event["id"], account_id)
                return
            decision = audience.decide(preferences, CATEGORY)
            if not decision.send:
                self._suppress(firm_id, address, template, {k: v for k, v in context.items() if k != "attachments"},
                               decision.reason or "suppressed")
                continue
            name = preferences.get("first_name") if preferences.get("known") else None
            email_context = {**context, "recipient_name": name or None}
            if decision.banner:
                email_context |= {"needs_activation": True,
                                  "activation_url": self._invitation_url(firm_id, preferences["user_id"])}
            self._queue_or_log({"firm_id": firm_id, "to": address, "template": template, "context": email_context})

    def _invoice_context(self, event: dict, data: dict) -> dict:
        invoice = data["invoice"]
        return {"firm_name": data["firm_name"], "account_name": data["account_name"],
                "invoice_number": _number(invoice) or "(draft)", "total_text": _money(invoice["total"], invoice),
                "amount_due_text": _money(invoice["amount_due"], invoice),
                "credit_applied_text": _money(invoice["credit_applied"], invoice) if invoice["credit_applied"]
                else None, "due_date": invoice["due_date"], "memo": invoice["memo"],
                "pay_url": self._pay_url(event["firm_id"], invoice)}

    @event_handler(INVOICE_ISSUED)
    def on_invoice_issued(self, event: dict) -> None:
        """The new invoice to the account's client addresses: its pay link and its PDF attached."""
        data = self._read(schema(InvoiceNoticeSchema), event)
        if data is None or not data["recipients"]:
            return
        try:
            document = self.billing.render_invoice_pdf(firm_id=event["firm_id"], invoice_id=str(data["invoice"]["id"]))
        except NotFound:
            log.warning("invoice %s is gone: no email", data["invoice"]["id"])
            return
        attachment = {key: document[key] for key in ("filename", "content_type", "content_base64")}
        self._client_emails(event, data["recipients"], "invoice",
                            {**self._invoice_context(event, data), "attachments": [attachment]})

    @event_handler(INVOICE_REMINDER_DUE)
    def on_invoice_reminder_due(self, event: dict) -> None:
        data = self._read(schema(InvoiceNoticeSchema), event)
        if data is not None and data["invoice"]["amount_due"] > 0:
            self._client_emails(event, data["recipients"], "invoice_reminder", self._invoice_context(event, data))

    @event_handler(PAYMENT_RECORDED)
    def on_payment_recorded(self, event: dict) -> None:
        """A payment confirmation to whoever paid; the firm's Inbox+ `payment_received`."""
        data = self._read(schema(PaymentNoticeSchema), event)
        if data is None:
            return
        payment, invoice = data["payment"], data["invoice"]
        self._client_emails(event, data["recipients"], "payment_receipt", {
            "firm_name": data["firm_name"], "amount_text": _money(payment["amount"], payment),
            "invoice_number": _number(invoice),
            "amount_due_text": _money(invoice["amount_due"], invoice) if invoice else None})
        staff = self._staff_to_tell(event, [invoice["created_by"]] if invoice else [])
        items = payment_received(self.db.session, staff, uuid.UUID(event["firm_id"]), uuid.UUID(event["account_id"]),
                                 payment, invoice, data["account_name"])
        self._emit_inbox_changes(items)

    def _emit_inbox_changes(self, items: list[InboxItem]) -> None:
        # The real-time streams hear of the items (inbox.changed) where that exists in this checkout.
        changed = getattr(inbox, "changed", None)
        if changed is not None:
            try:
                self.db.emit_all(changed(items))
            except PortaError:
                log.exception("inbox change not streamed")

    @event_handler(PAYMENT_REFUNDED)
    def on_payment_refunded(self, event: dict) -> None:
        data = self._read(schema(PaymentNoticeSchema), event)
        if data is None or data["refund"] is None:
            return
        payment, invoice = data["payment"], data["invoice"]
        self._client_emails(event, data["recipients"], "refund_notice", {
            "firm_name": data["firm_name"], "amount_text": _money(data["refund"]["amount"], payment),
            "invoice_number": _number(invoice), "reason": data["refund"]["reason"]})
