"""The documents service's contract for approvals: a document sent to people who approve it, or
disapprove it with a comment, from their own link (links kind `approval`, target their approver row)
or from the portal. Each approver's link is retrievable: his row keeps its id (`link_id`, never its
token); reads reveal it as his `url` and notifications reveals it for his email (`approver_email_due`).

Declared under the documents service; `shared.contracts.documents` imports this module.
"""
from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from shared.events import declare
from shared.schemas import Timestamp, page_schema

APPROVAL_STATUSES = ("pending", "approved", "disapproved")
DECISIONS = ("approved", "disapproved")
# Where a decision was made: the emailed link, or the client portal.
DECIDED_THROUGH = ("link", "portal")
MAX_APPROVERS = 20


class ApprovalCreateSchema(Schema):
    emails = fields.List(fields.Email(validate=validate.Length(max=254)), required=True,
                         validate=validate.Length(min=1, max=MAX_APPROVERS),
                         metadata={"description": "Each approver is emailed a link of his own"})
    message = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=5000))

    @validates_schema
    def _each_once(self, data: dict[str, Any], **_: Any) -> None:
        emails = [e.strip().lower() for e in data.get("emails", [])]
        if len(set(emails)) != len(emails):
            raise ValidationError("Name each approver once.", "emails")


class ApprovalDecisionSchema(Schema):
    decision = fields.String(required=True, validate=validate.OneOf(DECISIONS),
                             metadata={"description": "`approved` or `disapproved`"})
    comment = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=5000),
                            metadata={"description": "Required to disapprove: the firm needs to know why"})

    @validates_schema
    def _why_not(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("decision") == "disapproved" and not (data.get("comment") or "").strip():
            raise ValidationError("Say what should change.", "comment")


class ApproverSchema(Schema):
    id = fields.UUID()
    email = fields.String()
    url = fields.String(allow_none=True, metadata={
        "description": "His approval page (his own link), while he has not decided and the request is pending "
                       "and the link still works; null otherwise"})
    status = fields.String(validate=validate.OneOf(APPROVAL_STATUSES))
    comment = fields.String(allow_none=True)
    decided_at = Timestamp(allow_none=True)
    decided_through = fields.String(allow_none=True, validate=validate.OneOf(DECIDED_THROUGH),
                                    metadata={"description": "`link` or `portal`"})


class ApprovalRequestSchema(Schema):
    id = fields.UUID()
    account_id = fields.UUID()
    document_id = fields.UUID()
    document_name = fields.String()
    message = fields.String(allow_none=True)
    status = fields.String(validate=validate.OneOf(APPROVAL_STATUSES), metadata={
        "description": "`pending`; `approved` once every approver approved; `disapproved` once one disapproved"})
    approvers = fields.List(fields.Nested(ApproverSchema))
    created_by = fields.UUID(allow_none=True)
    created_at = Timestamp()
    updated_at = Timestamp()
    decided_at = Timestamp(allow_none=True)


ApprovalRequestPageSchema = page_schema(ApprovalRequestSchema, "ApprovalRequestPage")


class PortalApprovalSchema(Schema):
    """An approval request as the portal shows it to one of its approvers."""

    id = fields.UUID()
    document_id = fields.UUID()
    document_name = fields.String()
    message = fields.String(allow_none=True)
    status = fields.String(metadata={"description": "The request's status"})
    my_status = fields.String(metadata={"description": "The caller's own decision, or `pending`"})
    my_comment = fields.String(allow_none=True)
    decided_at = Timestamp(allow_none=True, metadata={"description": "When the caller decided"})
    created_at = Timestamp()


PortalApprovalPageSchema = page_schema(PortalApprovalSchema, "PortalApprovalPage")


class PublicApprovalSchema(Schema):
    """What the approval page shows: the document to approve and this approver's own decision."""

    message = fields.String(allow_none=True)
    email = fields.String()
    document_name = fields.String()
    content_type = fields.String()
    size = fields.Integer()
    status = fields.String(metadata={"description": "This approver's decision, or `pending`"})
    request_status = fields.String()
    comment = fields.String(allow_none=True)
    decided_at = Timestamp(allow_none=True)


# -- events ------------------------------------------------------------------------------------


class ApprovalEventSchema(Schema):
    id = fields.UUID(required=True)
    account_id = fields.UUID(required=True)
    document_id = fields.UUID(required=True)
    document_name = fields.String(required=True)
    message = fields.String(required=True, allow_none=True)
    status = fields.String(required=True, validate=validate.OneOf(APPROVAL_STATUSES))
    created_by = fields.UUID(required=True, allow_none=True)
    created_at = Timestamp(required=True)


class ApproverEventSchema(Schema):
    id = fields.UUID(required=True)
    email = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(APPROVAL_STATUSES))
    comment = fields.String(required=True, allow_none=True)
    decided_at = Timestamp(required=True, allow_none=True)
    decided_through = fields.String(required=True, allow_none=True, validate=validate.OneOf(DECIDED_THROUGH))
    link_id = fields.UUID(required=True, allow_none=True,
                          metadata={"description": "His approval link (the links service's id; never its token)"})


class ApprovalRequestedSchema(Schema):
    approval_request = fields.Nested(ApprovalEventSchema, required=True)
    approvers = fields.List(fields.Nested(ApproverEventSchema), required=True)


class ApprovalDecidedSchema(Schema):
    approval_request = fields.Nested(ApprovalEventSchema, required=True)
    approver = fields.Nested(ApproverEventSchema, required=True, metadata={"description": "Who decided, and how"})


class ApproverEmailDueSchema(Schema):
    """One approver is to be emailed his link (`approver.link_id`, issued by documents; the notifications
    service reveals its token from the links service and emails it)."""

    approval_request = fields.Nested(ApprovalEventSchema, required=True)
    approver = fields.Nested(ApproverEventSchema, required=True)
    firm_name = fields.String(required=True)
    sender_name = fields.String(required=True, allow_none=True,
                                metadata={"description": "The staff member who sent it, if he has a name"})


APPROVAL_REQUESTED = declare("documents", "approval_requested", ApprovalRequestedSchema,
                             "A staff member sent a document for approval (each approver's email follows: "
                             "`approver_email_due`)")
APPROVER_EMAIL_DUE = declare("documents", "approver_email_due", ApproverEmailDueSchema,
                             "An approver is to be emailed his link to approve (sent after the request is stored)")
APPROVAL_DECIDED = declare("documents", "approval_decided", ApprovalDecidedSchema,
                           "An approver approved or disapproved (actor: the client through the portal, else none)")


class LinkApprovalSchema(PublicApprovalSchema):
    """`describe_approval`'s reply as the gateway passes it on (`GET /api/public/links/{token}`)."""

    decided_at = fields.String(allow_none=True, metadata={"format": "date-time"})
