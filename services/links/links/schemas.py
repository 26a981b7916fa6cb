"""The links service's payloads: what its RPCs accept (validated here) and return (dumped here).

Its callers are other services acting for a firm, and the gateway for the public `/p/{token}`
pages. No schema here dumps a token except IssuedLinkSchema, the reply to `issue_link`.
"""
from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, post_load, validate

from links.models import KINDS
from shared.schemas import Timestamp


class TargetSchema(Schema):
    """The one resource a link acts on, e.g. `{"type": "user", "id": "<uuid>"}`. Exactly these two
    keys, so the same target is always the same JSON and revoking a target finds all its links."""

    type = fields.String(required=True, validate=[validate.Length(min=1, max=40),
                                                  validate.Regexp(r"^[a-z][a-z0-9_]*$")])
    id = fields.String(required=True, validate=validate.Length(min=1, max=100))


class IssueLinkSchema(Schema):
    firm_id = fields.UUID(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    target = fields.Nested(TargetSchema, required=True)
    expires_at = fields.AwareDateTime(load_default=None, allow_none=True,
                                      metadata={"description": "With a time zone; must be in the future. "
                                                               "None: the link never expires."})
    single_use = fields.Boolean(metadata={"description": "Default: true for `invitation`, false otherwise"})
    replace = fields.Boolean(load_default=False,
                             metadata={"description": "Revoke the live links of the same firm, kind and target"})

    @post_load
    def _default_single_use(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        data.setdefault("single_use", data["kind"] == "invitation")
        return data


class TargetLinksSchema(Schema):
    """`revoke_target_links`'s arguments."""

    firm_id = fields.UUID(required=True)
    kind = fields.String(required=True, allow_none=True, validate=validate.OneOf(KINDS),
                         metadata={"description": "None: links of every kind"})
    target = fields.Nested(TargetSchema, required=True)


class LinkSchema(Schema):
    id = fields.UUID()
    firm_id = fields.UUID()
    kind = fields.String()
    target = fields.Dict()
    expires_at = Timestamp(allow_none=True)
    single_use = fields.Boolean()
    used_at = Timestamp(allow_none=True)
    revoked_at = Timestamp(allow_none=True)
    created_at = Timestamp()


class IssuedLinkSchema(LinkSchema):
    """The one reply that carries the raw token; it is never stored (not even for replay)."""

    token = fields.String()


class LinkListSchema(Schema):
    items = fields.List(fields.Nested(LinkSchema))
