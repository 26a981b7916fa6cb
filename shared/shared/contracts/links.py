"""The links service's payloads: what its RPCs accept (validated here) and return (dumped here).

Its callers are other services acting for a firm, and the gateway for the public `/p/{token}`
pages. No schema here dumps a token except IssuedLinkSchema, the reply to `issue_link`, and
RevealedLinksSchema, the reply to `reveal_links` (never stored either), and no event carries one.

`resolve_link(token, address, kind)` and `redeem_link(...)` answer a live link whatever the caller's
address; a link no longer live is Gone; an unknown token is NotFound, or Throttled (its `retry_after`
the seconds left) while that address must wait after its earlier wrong tokens (docs/links.md).
`describe_link(token, address)` answers the same, with what the link's public page shows (LinkViewSchema)
from one lookup.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from marshmallow import Schema, fields, post_load, validate

from shared.events import declare
from shared.schemas import Timestamp

KINDS = ("invitation", "file_request", "share", "signature", "approval", "invoice", "client_request")
# Why a link stopped working before its time: revoked by its firm, replaced by a new link of the same
# target (`replace`), or revoked with every link of its target (the invitation was accepted, ...).
REVOKE_REASONS = ("revoked", "replaced", "target_revoked")


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
    retrievable = fields.Boolean(load_default=False,
                                 metadata={"description": "Keep the token sealed so `reveal_links` can give it back "
                                                          "(file_request, share, invoice, client_request, "
                                                          "signature, approval; never invitation)"})
    view = fields.Dict(load_default=None, allow_none=True,
                       metadata={"description": "What the link's public page shows, as the owning service dumps "
                                                "it (a file_request: PublicFileRequestSchema); None: the gateway "
                                                "asks the owning service"})

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


class LinkViewSchema(LinkSchema):
    """`describe_link`'s reply: the live link and what its public page shows, from one lookup."""

    firm_name = fields.String(allow_none=True, metadata={"description": "None: a firm the links service has not "
                                                                        "heard of (made before it kept names)"})
    view = fields.Dict(allow_none=True, metadata={"description": "As the owning service gave it, kept current "
                                                                 "by its events; None: ask that service"})


class IssuedLinkSchema(LinkSchema):
    """The one reply that carries the raw token; it is never stored (not even for replay)."""

    token = fields.String()


class LinkListSchema(Schema):
    items = fields.List(fields.Nested(LinkSchema))


MAX_REVEAL = 1000  # ids per `reveal_links` call


class RevealLinksSchema(Schema):
    """`reveal_links`'s arguments. An id that names no link of the firm answers no token, not an error."""

    firm_id = fields.UUID(required=True)
    link_ids = fields.List(fields.String(), required=True, validate=validate.Length(max=MAX_REVEAL))


class RevealedLinkSchema(Schema):
    id = fields.String(metadata={"description": "As asked"})
    token = fields.String(allow_none=True, metadata={"description": "None: not a retrievable link of the firm"})
    live = fields.Boolean(metadata={"description": "Not revoked, not expired and, if single-use, not used"})


class RevealedLinksSchema(Schema):
    """The reply to `reveal_links`: it carries raw tokens, so it is never stored nor logged."""

    items = fields.List(fields.Nested(RevealedLinkSchema))


def reveal_all(links: Any, firm_id: str, link_ids: Sequence[str]) -> list[dict]:
    """`reveal_links`' items for any number of ids, in calls of at most MAX_REVEAL (a page of 200 signature
    requests of 20 signers names 4,000); no call for none."""
    return [item for start in range(0, len(link_ids), MAX_REVEAL)
            for item in links.reveal_links(firm_id=firm_id, link_ids=list(link_ids[start:start + MAX_REVEAL]))["items"]]


def page_urls(revealed: Iterable[Mapping[str, Any]], base_url: str) -> dict[str, str]:
    """link id -> its public page (`/p/{token}`), from `reveal_links`' items: live links only (revoked, expired,
    used-up and unknown ones have no page to copy or email)."""
    return {item["id"]: f"{base_url}/p/{item['token']}" for item in revealed if item.get("token") and item.get("live")}


def live_page_urls(links: Any, firm_id: str, link_ids: Sequence[str], base_url: str) -> dict[str, str]:
    """link id -> public page of each of these links that is live, revealed by the links service (`page_urls`)."""
    return page_urls(reveal_all(links, firm_id, link_ids), base_url)


# -- events -------------------------------------------------------------------------------------------
# Each carries the link as LinkSchema dumps it (never its token). The envelope's firm_id is the link's
# firm, its account_id the target's id when the target is an account.


class LinkEventLinkSchema(Schema):
    """A link as events carry it: every field of LinkSchema, always present."""

    id = fields.UUID(required=True)
    firm_id = fields.UUID(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    target = fields.Nested(TargetSchema, required=True)
    expires_at = Timestamp(required=True, allow_none=True)
    single_use = fields.Boolean(required=True)
    used_at = Timestamp(required=True, allow_none=True)
    revoked_at = Timestamp(required=True, allow_none=True)
    created_at = Timestamp(required=True)


class LinkEventSchema(Schema):
    link = fields.Nested(LinkEventLinkSchema, required=True)


class LinkRevokedSchema(LinkEventSchema):
    reason = fields.String(required=True, validate=validate.OneOf(REVOKE_REASONS))


LINK_ISSUED = declare("links", "link_issued", LinkEventSchema, "A link was issued (its token only went to the caller)")
LINK_REVOKED = declare("links", "link_revoked", LinkRevokedSchema,
                       "A link stopped working before its time; `reason` says why")
LINK_REDEEMED = declare("links", "link_redeemed", LinkEventSchema,
                        "A link was used on its public page (an invitation accepted, ...)")
