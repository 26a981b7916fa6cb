"""The documents service's contract for shares: documents of one account sent to third parties, each
recipient with his own link (links kind `share`, target his recipient row), email and expiry.

Declared under the documents service (its outbox emits these events); `shared.contracts.documents`
imports this module, so `load_all()` sees them with the rest of documents' events.
"""
from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from shared.events import declare
from shared.schemas import StrictBoolean, Timestamp, page_schema

# A recipient's link: working, past its expiry (staff may extend it again), or revoked for good.
RECIPIENT_STATUSES = ("active", "expired", "revoked")
SHARE_STATUSES = ("active", "revoked")
MAX_DOCUMENTS = 100
MAX_RECIPIENTS = 50


class ShareRecipientCreateSchema(Schema):
    email = fields.Email(required=True, validate=validate.Length(max=254))
    expires_at = fields.AwareDateTime(load_default=None, allow_none=True,
                                      metadata={"description": "With a time zone, in the future; null: never"})


class ShareCreateSchema(Schema):
    document_ids = fields.List(fields.UUID(), required=True, validate=validate.Length(min=1, max=MAX_DOCUMENTS),
                               metadata={"description": "Documents of ONE account the caller may see, with "
                                                        "`manage_documents` on it"})
    recipients = fields.List(fields.Nested(ShareRecipientCreateSchema), required=True,
                             validate=validate.Length(min=1, max=MAX_RECIPIENTS),
                             metadata={"description": "Each gets his own link, expiry and email"})
    message = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=5000))
    send_email = StrictBoolean(load_default=True)

    @validates_schema
    def _each_once(self, data: dict[str, Any], **_: Any) -> None:
        emails = [r["email"].strip().lower() for r in data.get("recipients", [])]
        if len(set(emails)) != len(emails):
            raise ValidationError("Name each recipient once.", "recipients")
        ids = data.get("document_ids", [])
        if len(set(ids)) != len(ids):
            raise ValidationError("Name each document once.", "document_ids")


class ShareRecipientPatchSchema(Schema):
    expires_at = fields.AwareDateTime(required=True, allow_none=True,
                                      metadata={"description": "The new expiry (future), or null: never expires"})


class ShareRecipientSchema(Schema):
    id = fields.UUID()
    email = fields.String()
    url = fields.String(allow_none=True, metadata={"description": "His link, to copy; null once it is revoked"})
    expires_at = Timestamp(allow_none=True)
    status = fields.String(validate=validate.OneOf(RECIPIENT_STATUSES),
                           metadata={"description": "`active`, `expired` or `revoked`"})
    opened_at = Timestamp(allow_none=True, metadata={"description": "His first open of the link"})
    last_opened_at = Timestamp(allow_none=True)
    opens = fields.Integer(metadata={"description": "Opens of the page and documents viewed in the browser"})
    downloads = fields.Integer(metadata={"description": "Documents and archives downloaded (a resumed range "
                                                        "download counts once)"})
    last_downloaded_at = Timestamp(allow_none=True)
    revoked_at = Timestamp(allow_none=True)
    created_at = Timestamp()


class SharedDocumentSchema(Schema):
    id = fields.UUID()
    name = fields.String()
    size = fields.Integer()
    content_type = fields.String()


class ShareSchema(Schema):
    id = fields.UUID()
    account_id = fields.UUID()
    document_ids = fields.List(fields.UUID(), metadata={"description": "A deleted document drops out"})
    documents = fields.List(fields.Nested(SharedDocumentSchema))
    message = fields.String(allow_none=True)
    status = fields.String(validate=validate.OneOf(SHARE_STATUSES), metadata={"description": "`active` or `revoked`"})
    recipients = fields.List(fields.Nested(ShareRecipientSchema))
    created_by = fields.UUID(allow_none=True)
    created_at = Timestamp()
    updated_at = Timestamp()
    revoked_at = Timestamp(allow_none=True)


SharePageSchema = page_schema(ShareSchema, "SharePage")


class PublicSharedDocumentSchema(SharedDocumentSchema):
    viewable = fields.Boolean(metadata={"description": "A PDF or an image: shown in the browser"})
    available = fields.Boolean(metadata={"description": "False while its virus scan is not done"})


class PublicShareSchema(Schema):
    """What the share page shows its recipient: the firm's message and the documents, nobody else."""

    message = fields.String(allow_none=True)
    email = fields.String(metadata={"description": "The recipient the link was sent to"})
    expires_at = Timestamp(allow_none=True)
    documents = fields.List(fields.Nested(PublicSharedDocumentSchema))


class ShareArchiveSchema(Schema):
    """What the gateway needs to stream a share's zip: each available document's object."""

    name = fields.String(metadata={"description": "The zip's file name"})
    items = fields.List(fields.Dict())


# -- events ------------------------------------------------------------------------------------


class ShareEventSchema(Schema):
    """A share as events carry it (no url: a link's token is in no event)."""

    id = fields.UUID(required=True)
    account_id = fields.UUID(required=True)
    message = fields.String(required=True, allow_none=True)
    status = fields.String(required=True, validate=validate.OneOf(SHARE_STATUSES))
    created_by = fields.UUID(required=True, allow_none=True)
    created_at = Timestamp(required=True)


class RecipientEventSchema(Schema):
    id = fields.UUID(required=True)
    email = fields.String(required=True)
    link_id = fields.UUID(required=True, allow_none=True)
    expires_at = Timestamp(required=True, allow_none=True)


class DocumentRefSchema(Schema):
    id = fields.UUID(required=True)
    name = fields.String(required=True)


class ShareCreatedSchema(Schema):
    share = fields.Nested(ShareEventSchema, required=True)
    recipients = fields.List(fields.Nested(RecipientEventSchema), required=True)
    documents = fields.List(fields.Nested(DocumentRefSchema), required=True)


class ShareSentSchema(Schema):
    share = fields.Nested(ShareEventSchema, required=True)
    recipients = fields.List(fields.Nested(RecipientEventSchema), required=True,
                             metadata={"description": "Each is emailed his own link, alone"})
    documents = fields.List(fields.Nested(DocumentRefSchema), required=True)
    firm_name = fields.String(required=True)
    sender_name = fields.String(required=True, allow_none=True)


class ShareRecipientChangedSchema(Schema):
    share = fields.Nested(ShareEventSchema, required=True)
    recipient = fields.Nested(RecipientEventSchema, required=True)


class ShareRevokedSchema(Schema):
    share = fields.Nested(ShareEventSchema, required=True)
    recipients = fields.List(fields.Nested(RecipientEventSchema), required=True)


class ShareOpenedSchema(Schema):
    share = fields.Nested(ShareEventSchema, required=True)
    recipient = fields.Nested(RecipientEventSchema, required=True)
    document = fields.Nested(DocumentRefSchema, required=True, allow_none=True,
                             metadata={"description": "A document viewed in the browser; null: the page"})


class ShareDownloadedSchema(Schema):
    share = fields.Nested(ShareEventSchema, required=True)
    recipient = fields.Nested(RecipientEventSchema, required=True)
    documents = fields.List(fields.Nested(DocumentRefSchema), required=True)
    archive = fields.Boolean(required=True, metadata={"description": "All of them as one zip"})


SHARE_CREATED = declare("documents", "share_created", ShareCreatedSchema,
                        "A staff member shared documents with recipients, each with his own link")
SHARE_SENT = declare("documents", "share_sent", ShareSentSchema, "A share is to be emailed, to each recipient alone")
SHARE_RECIPIENT_UPDATED = declare("documents", "share_recipient_updated", ShareRecipientChangedSchema,
                                  "A recipient's link got another expiry")
SHARE_RECIPIENT_REVOKED = declare("documents", "share_recipient_revoked", ShareRecipientChangedSchema,
                                  "A recipient's link was revoked: it answers 410")
SHARE_REVOKED = declare("documents", "share_revoked", ShareRevokedSchema,
                        "A share was revoked: every recipient's link answers 410")
SHARE_OPENED = declare("documents", "share_opened", ShareOpenedSchema,
                       "A recipient opened his share link, or viewed a document in the browser (actor: none)")
SHARE_DOWNLOADED = declare("documents", "share_downloaded", ShareDownloadedSchema,
                           "A recipient downloaded a shared document, or all of them as a zip (actor: none)")


class LinkShareSchema(PublicShareSchema):
    """`open_share`'s reply as the gateway passes it on (`GET /api/public/links/{token}`): already dumped."""

    expires_at = fields.String(allow_none=True, metadata={"format": "date-time"})
