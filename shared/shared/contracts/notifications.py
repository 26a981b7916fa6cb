"""The notifications service's payloads: what its RPCs accept (validated here) and return.

The gateway documents the activity feed with ActivityQuerySchema and ActivityPageSchema, the Inbox+
with InboxQuerySchema, InboxPageSchema and InboxItemSchema.

Each email template has a context schema naming the variables it needs: a send with a missing,
misspelt or malformed variable is refused at the call (422) instead of failing later in the queue.

It emits one event, `inbox_item_changed`, for the real-time streams (gateway.stream). What it reads from
other services' events is its own business (notifications.readers), not part of this contract.
"""
from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

from shared.events import declare
from shared.schemas import PageQuerySchema, Timestamp, page_schema, schema

# `suppressed`: decided not to send (the client turned these emails off, the link is gone); never attempted.
EMAIL_STATUSES = ("queued", "sent", "failed", "suppressed")


def _url(**kwargs: Any) -> fields.Url:
    # Links go into href attributes: only web links (no javascript:), hosts without a TLD allowed (dev).
    return fields.Url(schemes={"http", "https"}, require_tld=False, validate=validate.Length(max=2000), **kwargs)


def _name(**kwargs: Any) -> fields.String:
    return fields.String(validate=validate.Length(min=1, max=200), **kwargs)


class EmailContextSchema(Schema):
    """What the layout of every email uses."""

    firm_name = _name(required=True, metadata={"description": "The firm the email is sent on behalf of"})
    recipient_name = _name(load_default=None, metadata={"description": "For the greeting; omitted: 'Hello,'"})
    needs_activation = fields.Boolean(
        load_default=False, metadata={"description": "Show the 'activate your account' banner"})
    activation_url = _url(load_default=None, metadata={"description": "The banner's link"})

    @validates_schema
    def banner_has_a_link(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data.get("needs_activation") and not data.get("activation_url"):
            raise ValidationError("Required when needs_activation is true.", "activation_url")


class TeamInvitationContextSchema(EmailContextSchema):
    """A firm invites a staff member."""

    inviter_name = _name(required=True)
    accept_url = _url(required=True, metadata={"description": "Where the invitation is accepted (carries a token)"})


class PortalInvitationContextSchema(EmailContextSchema):
    """A firm gives a client portal access; the email is itself the activation (no banner)."""

    account_name = _name(required=True)
    activation_url = _url(required=True, metadata={"description": "Where the account is activated (carries a token)"})


class FileRequestContextSchema(EmailContextSchema):
    """A firm asks a client or a third party for files; the button opens the request's upload page."""

    message = fields.String(load_default="", validate=validate.Length(max=5000),
                            metadata={"description": "The request's message, as the staff member wrote it"})
    upload_url = _url(required=True, metadata={"description": "The request's upload page (carries a token)"})


class ShareContextSchema(EmailContextSchema):
    """A firm shares documents with one recipient (a third party): his own link, sent to him alone."""

    message = fields.String(load_default="", validate=validate.Length(max=5000))
    sender_name = _name(load_default=None, metadata={"description": "The staff member who shared them"})
    document_names = fields.List(fields.String(validate=validate.Length(max=255)), required=True,
                                 validate=validate.Length(min=1, max=100))
    expires_at = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=100),
                               metadata={"description": "His link's expiry, in words"})
    share_url = _url(required=True, metadata={"description": "His share page (carries a token)"})


class ApprovalRequestContextSchema(EmailContextSchema):
    """A firm asks someone to approve a document: his own link."""

    message = fields.String(load_default="", validate=validate.Length(max=5000))
    sender_name = _name(load_default=None)
    document_name = fields.String(required=True, validate=validate.Length(min=1, max=255))
    approval_url = _url(required=True, metadata={"description": "His approval page (carries a token)"})


class ChatMessageContextSchema(EmailContextSchema):
    """A message of the firm waits in a chat thread (chats); its content only when the firm allows it."""

    account_name = _name(required=True)
    thread_subject = fields.String(required=True, validate=validate.Length(min=1, max=200))
    author_name = fields.String(load_default="", validate=validate.Length(max=200))
    content = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=20_000),
                            metadata={"description": "The message as written; null unless chat_email_content is on"})
    portal_url = _url(required=True, metadata={"description": "Where the client reads and answers it"})
    reminder = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=1),
                              metadata={"description": "A reminder's number; null for the first notice"})


# -- billing's emails (notifications/billing_notices.py) --------------------------------------------


class AttachmentSchema(Schema):
    """A file attached to an email (an invoice's PDF), its bytes base64."""

    filename = fields.String(required=True, validate=validate.Length(min=1, max=200))
    content_type = fields.String(required=True, validate=validate.OneOf(["application/pdf"]))
    content_base64 = fields.String(required=True, validate=validate.Length(max=2_000_000))


class InvoiceContextSchema(EmailContextSchema):
    """A new invoice, or a reminder of an outstanding one: its pay link and (new invoice) its PDF attached."""

    account_name = fields.String(load_default="", validate=validate.Length(max=300))
    invoice_number = fields.String(required=True, validate=validate.Length(min=1, max=40))
    total_text = fields.String(required=True, validate=validate.Length(max=60))
    amount_due_text = fields.String(required=True, validate=validate.Length(max=60))
    credit_applied_text = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=60))
    due_date = fields.String(required=True, validate=validate.Length(max=40))
    memo = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=5000))
    pay_url = _url(load_default=None, allow_none=True, metadata={"description": "The pay link (carries a token)"})
    attachments = fields.List(fields.Nested(AttachmentSchema), load_default=list, validate=validate.Length(max=3))


class PaymentReceiptContextSchema(EmailContextSchema):
    """Money received: on an invoice, or a prepayment (no invoice number)."""

    amount_text = fields.String(required=True, validate=validate.Length(max=60))
    invoice_number = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=40))
    amount_due_text = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=60))


class RefundNoticeContextSchema(EmailContextSchema):
    amount_text = fields.String(required=True, validate=validate.Length(max=60))
    invoice_number = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=40))
    reason = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500))


class ClientRequestContextSchema(EmailContextSchema):
    """A firm asks a client (or his assistant) a few questions (notifications/client_request_notices.py)."""

    title = fields.String(required=True, validate=validate.Length(min=1, max=200))
    message = fields.String(load_default="", validate=validate.Length(max=5000))
    login_required = fields.Boolean(load_default=False, metadata={"description": "Answered in the portal only"})
    request_url = _url(required=True, metadata={"description": "The questionnaire's page (carries a token), or "
                                                               "the portal"})


class SignatureEmailContextSchema(EmailContextSchema):
    """A firm asks someone to sign a PDF, or reminds him (signature requests): his own link."""

    message = fields.String(load_default="", validate=validate.Length(max=5000))
    document_name = fields.String(required=True, validate=validate.Length(min=1, max=255))
    signer_name = _name(required=True, metadata={"description": "As the firm named him"})
    expires_at = fields.String(required=True, validate=validate.Length(max=100),
                               metadata={"description": "When his link stops working, in words"})
    signing_url = _url(required=True, metadata={"description": "His signing page (carries a token)"})


TEMPLATE_CONTEXTS: dict[str, type[EmailContextSchema]] = {
    "team_invitation": TeamInvitationContextSchema,
    "portal_invitation": PortalInvitationContextSchema,
    "file_request": FileRequestContextSchema,
    "client_request": ClientRequestContextSchema,
    "invoice": InvoiceContextSchema,
    "invoice_reminder": InvoiceContextSchema,
    "payment_receipt": PaymentReceiptContextSchema,
    "refund_notice": RefundNoticeContextSchema,
    "chat_message": ChatMessageContextSchema,
    "share": ShareContextSchema,
    "approval_request": ApprovalRequestContextSchema,
    "signature_request": SignatureEmailContextSchema,  # signature requests (notifications/signature_notices.py)
    "signature_reminder": SignatureEmailContextSchema,
}


class SendEmailSchema(Schema):
    firm_id = fields.UUID(required=True)
    to = fields.Email(required=True, validate=validate.Length(max=254))
    template = fields.String(required=True, validate=validate.OneOf(sorted(TEMPLATE_CONTEXTS)))
    context = fields.Dict(keys=fields.String(), load_default=dict)

    @post_load
    def load_context(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        try:
            data["context"] = schema(TEMPLATE_CONTEXTS[data["template"]]).load(data["context"])
        except ValidationError as exc:
            raise ValidationError({"context": exc.messages}) from None
        return data


class SendEmailResultSchema(Schema):
    id = fields.UUID()
    status = fields.String(validate=validate.OneOf(EMAIL_STATUSES))


class ActivityQuerySchema(PageQuerySchema):
    account_id = fields.UUID(load_default=None, metadata={"description": "Only this account's activity"})


class ActivityItemSchema(Schema):
    """One entry of the activity feed: one event of another service, as it was received."""

    id = fields.UUID()
    event_type = fields.String(metadata={"description": "The event, e.g. `account_created`, `link_redeemed`"})
    account_id = fields.UUID(allow_none=True, metadata={"description": "The account it concerns, if any"})
    actor_id = fields.UUID(attribute="actor_user_id", allow_none=True,
                           metadata={"description": "The user who did it; null when unknown"})
    summary = fields.String(metadata={"description": "One line for people, e.g. 'Account “Smith Family” created'"})
    data = fields.Dict(metadata={"description": "The event's data as the emitting service sent it"})
    occurred_at = Timestamp(metadata={"description": "When the change was made"})


ActivityPageSchema = page_schema(ActivityItemSchema, "ActivityPage")


# -- the Inbox+ ---------------------------------------------------------------------------------------


class InboxQuerySchema(PageQuerySchema):
    unread = fields.Boolean(load_default=None, metadata={
        "description": "`true`: only unread items; `false`: only read ones; omitted: all"})


class InboxItemSchema(Schema):
    """One item of the caller's Inbox+: one subject (a file request, an account's portal uploads), kept up
    to date as things happen to it; each change puts it on top, unread."""

    id = fields.UUID()
    type = fields.String(attribute="subject_type", metadata={
        "description": "What it is about: `file_request` or `account_uploads`"})
    subject_id = fields.UUID(metadata={"description": "The file request's id, or the account's for account_uploads"})
    account_id = fields.UUID(allow_none=True, metadata={"description": "The account it concerns"})
    title = fields.String(metadata={"description": "One line, e.g. '3 files received for “W-2 for 2025”'"})
    body = fields.String(metadata={"description": "What happened last, e.g. who uploaded which files"})
    count = fields.Integer(metadata={"description": "The number the title states (files received so far, ...)"})
    event_count = fields.Integer(metadata={"description": "How many events updated this item"})
    data = fields.Dict(metadata={"description": "The subject's details (file request, uploader, latest documents)"})
    unread = fields.Boolean()
    read_at = Timestamp(allow_none=True, metadata={"description": "When it was last marked read; null while unread"})
    created_at = Timestamp()
    updated_at = Timestamp(metadata={"description": "The latest event about it; orders the inbox"})


InboxPageSchema = page_schema(InboxItemSchema, "InboxPage")


# -- events -----------------------------------------------------------------------------------------


class InboxItemChangedSchema(Schema):
    """One staff member's Inbox+ item, as `GET /api/v1/inbox` shows it, after a change (the envelope's
    account_id is the item's account, if any)."""

    user_id = fields.UUID(required=True, metadata={"description": "Whose Inbox+ it is in"})
    item = fields.Nested(InboxItemSchema, required=True)


INBOX_ITEM_CHANGED = declare("notifications", "inbox_item_changed", InboxItemChangedSchema,
                             "A staff member's Inbox+ item was added or changed (it is on top, unread)")
