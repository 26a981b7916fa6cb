"""Signature requests in notifications: each signer's email with his link, the firm's Inbox+ items
(`signature_completed`, `signature_declined`) and the activity lines of their events.

- Documents issues each signer's link (links kind `signature`, retrievable; a resend replaces it) and
  `signer_email_due` carries its id, never its token: this service reveals it from the links service
  (`reveal_links`, as for a file request) and emails it, the request (template `signature_request`) or
  a reminder (`signature_reminder`). A link no longer live (replaced by a resend, canceled, expired)
  is not emailed: recorded `suppressed` as `link_unavailable`. audience.decide applies the account's
  NOTIFY and the `documents_signature` category first; a third party's address always gets it.
- `signature_request_completed` (the sealed PDF is written) and `signature_declined` are one Inbox+ item
  per staff member and request: the request's creator and the account's team hear of it.

`SignatureNotices` is a mixin of NotificationsService (it uses its `_queue_or_log`, `_suppress`,
`_event_data`, `_staff_to_tell`, `_invitation_url`, `links`, `crm`, `settings`); the inbox functions
are plain Python over a session (the caller commits).
"""
from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from marshmallow import EXCLUDE, Schema, fields, validate
from sqlalchemy.orm import Session

from notifications import audience, inbox
from notifications.inbox import _clip, _in_order, _item, _touched
from notifications.models import InboxItem
from shared.contracts.documents import (
    SIGNATURE_DECLINED,
    SIGNATURE_REQUEST_COMPLETED,
    SIGNER_EMAIL_DUE,
    SIGNER_EMAIL_REASONS,
)
from shared.contracts.links import live_page_urls
from shared.entrypoints import event_handler
from shared.errors import NotFound
from shared.schemas import schema

log = logging.getLogger(__name__)

SIGNATURE_COMPLETED_ITEM = "signature_completed"  # the Inbox+ kinds the issue names
SIGNATURE_DECLINED_ITEM = "signature_declined"
CATEGORY = "documents_signature"
TEMPLATES = {"request": "signature_request", "resend": "signature_request", "reminder": "signature_reminder"}


def _document(data: dict[str, Any]) -> str:
    return f"“{data['signature_request']['document_name']}”"


# (source, type) -> line, merged into activity.SUMMARIES.
ACTIVITY: dict[tuple[str, str], Any] = {
    ("documents", "signature_request_created"): lambda data: (
        f"{_document(data)} sent for signature to {data['signature_request']['signers_count']} signer(s)"),
    ("documents", "signer_email_due"): lambda data: (
        {"request": "Signing link emailed to {}", "resend": "Signing link sent again to {}",
         "reminder": "Signing reminder to {}"}[data["reason"]].format(data["signer"]["email"])),
    ("documents", "signature_signed"): lambda data: (
        f"{data['signer']['signed_name'] or data['signer']['name']} ({data['signer']['email']}) signed "
        f"{_document(data)}"),
    ("documents", "signature_declined"): lambda data: (
        f"{data['signer']['email']} declined to sign {_document(data)}: {data['reason']}"),
    ("documents", "signature_request_signed"): lambda data: f"Every signer signed {_document(data)}",
    ("documents", "signature_request_completed"): lambda data: (
        f"Sealed PDF “{data['signed_document']['name']}” written for {_document(data)}"),
    ("documents", "signature_request_canceled"): lambda data: f"Signature request for {_document(data)} canceled",
}


# -- what the handlers read (tolerant: fields they do not use are ignored) ---------------------------


class _EventData(Schema):
    class Meta:
        unknown = EXCLUDE


class _Request(_EventData):
    id = fields.UUID(required=True)
    document_id = fields.UUID(required=True)
    document_name = fields.String(required=True)
    message = fields.String(load_default="", allow_none=True)
    signers_count = fields.Integer(load_default=1)
    created_by = fields.UUID(load_default=None, allow_none=True)


class _Signer(_EventData):
    id = fields.UUID(required=True)
    name = fields.String(required=True)
    email = fields.String(required=True)
    link_id = fields.UUID(load_default=None, allow_none=True)
    expires_at = fields.AwareDateTime(required=True)
    signed_name = fields.String(load_default=None, allow_none=True)
    signed_at = fields.AwareDateTime(load_default=None, allow_none=True)


class _Document(_EventData):
    id = fields.UUID(required=True)
    name = fields.String(required=True)


class SignerEmailDueEventSchema(_EventData):
    """documents.signer_email_due"""

    signature_request = fields.Nested(_Request, required=True)
    signer = fields.Nested(_Signer, required=True)
    reason = fields.String(required=True, validate=validate.OneOf(SIGNER_EMAIL_REASONS))
    firm_name = fields.String(required=True)


class SignatureDeclinedEventSchema(_EventData):
    """documents.signature_declined"""

    signature_request = fields.Nested(_Request, required=True)
    signer = fields.Nested(_Signer, required=True)
    reason = fields.String(load_default="", allow_none=True)


class SignatureCompletedEventSchema(_EventData):
    """documents.signature_request_completed"""

    signature_request = fields.Nested(_Request, required=True)
    signed_document = fields.Nested(_Document, required=True)
    signers = fields.List(fields.Nested(_Signer), load_default=list)


def in_words(when: datetime | None) -> str | None:
    return f"{when.day} {when:%B %Y} at {when:%H:%M} UTC" if when else None


# -- the Inbox+ ----------------------------------------------------------------------------------------


def _request_items(db: Session, kind: str, user_ids: Iterable[uuid.UUID], firm_id: uuid.UUID, account_id: uuid.UUID,
                   request: Mapping[str, Any]) -> list[InboxItem]:
    return [_item(db, firm_id, user_id, account_id, kind, uuid.UUID(str(request["id"])))
            for user_id in _in_order(user_ids)]


def _request_data(request: Mapping[str, Any]) -> dict[str, Any]:
    return {"id": str(request["id"]), "document_id": str(request["document_id"]),
            "document_name": request["document_name"]}


def signature_completed(db: Session, user_ids: Iterable[uuid.UUID], firm_id: uuid.UUID, account_id: uuid.UUID,
                        request: Mapping[str, Any], signed_document: Mapping[str, Any],
                        signers: list[Mapping[str, Any]]) -> list[InboxItem]:
    """Every signer signed and the sealed PDF is written: each recipient's item of that request says so."""
    items = _request_items(db, SIGNATURE_COMPLETED_ITEM, user_ids, firm_id, account_id, request)
    names = ", ".join(s.get("signed_name") or s["name"] for s in signers) or "every signer"
    for item in items:
        item.count = len(signers)
        item.data = {"signature_request": _request_data(request),
                     "signed_document": {"id": str(signed_document["id"]), "name": signed_document["name"]},
                     "signers": [{"name": s.get("signed_name") or s["name"], "email": s["email"],
                                  "signed_at": s["signed_at"].isoformat() if s.get("signed_at") else None}
                                 for s in signers]}
        _touched(item, f"{_clip('“' + request['document_name'] + '”', 120)} is signed",
                 f"Signed by {names}. The sealed copy is “{signed_document['name']}”.")
    return items


def signature_declined(db: Session, user_ids: Iterable[uuid.UUID], firm_id: uuid.UUID, account_id: uuid.UUID,
                       request: Mapping[str, Any], signer: Mapping[str, Any], reason: str) -> list[InboxItem]:
    """A signer declined: each recipient's item of that request says who and why."""
    items = _request_items(db, SIGNATURE_DECLINED_ITEM, user_ids, firm_id, account_id, request)
    for item in items:
        item.count = 1
        item.data = {"signature_request": _request_data(request),
                     "signer": {"name": signer["name"], "email": signer["email"]}, "reason": reason}
        _touched(item, f"{signer['name']} declined to sign {_clip('“' + request['document_name'] + '”', 120)}",
                 f"{signer['name']} <{signer['email']}>: {reason or '(no reason given)'}")
    return items


class SignatureNotices:
    """The handlers (a mixin of NotificationsService)."""

    links: Any
    crm: Any
    settings: Any
    db: Any

    def _signing_url(self, firm_id: str, signer: Mapping[str, Any]) -> str | None:
        """The signer's link as documents issued it (revealed by links), or None when it is not live."""
        link_id = signer["link_id"]
        if link_id is None:
            return None
        return live_page_urls(self.links, firm_id, [str(link_id)], self.settings.base_url).get(str(link_id))

    @event_handler(SIGNER_EMAIL_DUE)
    def on_signer_email_due(self, event: dict) -> None:
        """Email one signer his link (the request, a resend or a reminder) unless the account's settings for
        his address say otherwise (NOTIFY off, `documents_signature` off: recorded `suppressed`) or the link
        is no longer live (`link_unavailable`)."""
        data = self._event_data(schema(SignerEmailDueEventSchema), event)
        if data is None:
            return
        firm_id, account_id = event["firm_id"], event["account_id"]
        request, signer, reason = data["signature_request"], data["signer"], data["reason"]
        template = TEMPLATES[reason]
        context = {"firm_name": data["firm_name"], "document_name": request["document_name"],
                   "message": request["message"] or "", "signer_name": signer["name"],
                   "expires_at": in_words(signer["expires_at"])}
        try:
            preferences = self.crm.client_email_preferences(firm_id=firm_id, account_id=account_id,
                                                            email=signer["email"])
        except NotFound:
            log.warning("signature request %s: account %s is gone, no email sent", request["id"], account_id)
            return
        decision = audience.decide(preferences, CATEGORY)
        if not decision.send:
            self._suppress(firm_id, signer["email"], template, context, decision.reason or "suppressed")
            return
        url = self._signing_url(firm_id, signer)
        if url is None:  # replaced by a resend (that email carries the new one), or the request closed
            log.info("signature request %s: signer %s's link is not live, no email", request["id"], signer["id"])
            self._suppress(firm_id, signer["email"], template, context, "link_unavailable")
            return
        email_context = {**context, "signing_url": url, "recipient_name": signer["name"]}
        if decision.banner:
            email_context |= {"needs_activation": True,
                              "activation_url": self._invitation_url(firm_id, preferences["user_id"])}
        self._queue_or_log({"firm_id": firm_id, "to": signer["email"], "template": template,
                            "context": email_context})

    @event_handler(SIGNATURE_REQUEST_COMPLETED)
    def on_signature_completed(self, event: dict) -> None:
        """The sealed PDF is written: the request's creator and the account's team hear of it."""
        data = self._event_data(schema(SignatureCompletedEventSchema), event)
        if data is None:
            return
        request = data["signature_request"]
        self.db.emit_all(inbox.changed(signature_completed(
            self.db.session, self._staff_to_tell(event, [request["created_by"]]), uuid.UUID(event["firm_id"]),
            uuid.UUID(event["account_id"]), request, data["signed_document"], data["signers"])))

    @event_handler(SIGNATURE_DECLINED)
    def on_signature_declined(self, event: dict) -> None:
        """A signer declined: the request's creator and the account's team hear who and why."""
        data = self._event_data(schema(SignatureDeclinedEventSchema), event)
        if data is None:
            return
        request = data["signature_request"]
        self.db.emit_all(inbox.changed(signature_declined(
            self.db.session, self._staff_to_tell(event, [request["created_by"]]), uuid.UUID(event["firm_id"]),
            uuid.UUID(event["account_id"]), request, data["signer"], data["reason"] or "")))
