"""The notifications service's payloads: what its RPCs accept (validated here) and return.

The gateway documents the activity feed with ActivityQuerySchema and ActivityPageSchema.

Each email template has a context schema naming the variables it needs: a send with a missing,
misspelt or malformed variable is refused at the call (422) instead of failing later in the queue.
"""
from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

from notifications.models import EMAIL_STATUSES
from shared.schemas import PageQuerySchema, Timestamp, page_schema


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


TEMPLATE_CONTEXTS: dict[str, type[EmailContextSchema]] = {
    "team_invitation": TeamInvitationContextSchema,
    "portal_invitation": PortalInvitationContextSchema,
}


class SendEmailSchema(Schema):
    firm_id = fields.UUID(required=True)
    to = fields.Email(required=True, validate=validate.Length(max=254))
    template = fields.String(required=True, validate=validate.OneOf(sorted(TEMPLATE_CONTEXTS)))
    context = fields.Dict(keys=fields.String(), load_default=dict)

    @post_load
    def load_context(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        try:
            data["context"] = TEMPLATE_CONTEXTS[data["template"]]().load(data["context"])
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
