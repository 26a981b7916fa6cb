"""Shares and approvals in notifications: each share recipient's email, the Inbox+ item of an approval
decision, and the activity lines of their events.

- A share goes to third parties, so its email ignores the account's notification settings (those are a
  client's choice about what the firm tells him, not about documents sent to a banker): each recipient
  gets one email of his own, with his own link, and no other address in it.
- Each approver gets one email with his own link (template `approval_request`) on `approver_email_due`,
  which documents publishes only once the request is stored: it carries the link's id (documents issues
  it, retrievable), never its token; this service reveals it from the links service. A link no longer
  live is not emailed (`suppressed`, `link_unavailable`). Like a share, it goes whatever the account's
  notification settings: approvers are mostly third parties (and documents never applied them either).
- An approval's decision (`approval_decided`) is one Inbox+ item per staff member and request, updated as
  approvers decide.

`ShareNotices` is a mixin of NotificationsService (it uses its `_queue_or_log`, `_suppress`, `_event_data`,
`_staff_to_tell`, `links`, `settings`); `approval_decided` is plain Python over a session (the caller commits).
"""
from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields
from sqlalchemy.orm import Session

from notifications.inbox import _clip, _in_order, _item, _touched
from notifications.models import InboxItem
from shared.contracts.approvals import APPROVAL_DECIDED, APPROVER_EMAIL_DUE
from shared.contracts.links import live_page_urls
from shared.contracts.shares import SHARE_SENT
from shared.entrypoints import event_handler
from shared.schemas import schema

log = logging.getLogger(__name__)

APPROVAL_DECIDED_ITEM = "approval_decided"  # the Inbox+ kind API.md names


def _names(documents: list[dict[str, Any]]) -> str:
    names = [f"“{d['name']}”" for d in documents]
    return ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")


def _decided(data: dict[str, Any]) -> str:
    approver, request = data["approver"], data["approval_request"]
    line = f"{approver['email']} {approver['status']} “{request['document_name']}”"
    return line + (f": {approver['comment']}" if approver.get("comment") else "")


# (source, type) -> line, merged into activity.SUMMARIES.
ACTIVITY: dict[tuple[str, str], Any] = {
    ("documents", "share_created"): lambda data: f"Shared {_names(data['documents'])} with "
                                                 f"{', '.join(r['email'] for r in data['recipients'])}",
    ("documents", "share_sent"): lambda data: f"Share emailed to {', '.join(r['email'] for r in data['recipients'])}",
    ("documents", "share_recipient_updated"): lambda data: (
        f"Share link of {data['recipient']['email']} now expires "
        f"{data['recipient']['expires_at'] or 'never'}"),
    ("documents", "share_recipient_revoked"): "Share link of {recipient[email]} revoked",
    ("documents", "share_revoked"): "Share revoked: its links stopped working",
    ("documents", "share_opened"): lambda data: (
        f"{data['recipient']['email']} viewed “{data['document']['name']}”" if data.get("document")
        else f"{data['recipient']['email']} opened the shared documents"),
    ("documents", "share_downloaded"): lambda data: (
        f"{data['recipient']['email']} downloaded all shared documents (zip)" if data.get("archive")
        else f"{data['recipient']['email']} downloaded {_names(data['documents'])}"),
    ("documents", "approval_requested"): lambda data: (
        f"“{data['approval_request']['document_name']}” sent for approval to "
        f"{', '.join(a['email'] for a in data['approvers'])}"),
    ("documents", "approver_email_due"): "Approval link emailed to {approver[email]}",
    ("documents", "approval_decided"): _decided,
}


# -- what the handlers read (tolerant: fields they do not use are ignored) ---------------------------


class _EventData(Schema):
    class Meta:
        unknown = EXCLUDE


class _Recipient(_EventData):
    id = fields.UUID(required=True)
    email = fields.String(required=True)
    link_id = fields.UUID(load_default=None, allow_none=True)
    expires_at = fields.AwareDateTime(load_default=None, allow_none=True)


class _Document(_EventData):
    id = fields.UUID(required=True)
    name = fields.String(required=True)


class _Share(_EventData):
    id = fields.UUID(required=True)
    message = fields.String(load_default=None, allow_none=True)


class ShareSentEventSchema(_EventData):
    """documents.share_sent"""

    share = fields.Nested(_Share, required=True)
    recipients = fields.List(fields.Nested(_Recipient), required=True)
    documents = fields.List(fields.Nested(_Document), required=True)
    firm_name = fields.String(required=True)
    sender_name = fields.String(load_default=None, allow_none=True)


class _Approval(_EventData):
    id = fields.UUID(required=True)
    document_id = fields.UUID(required=True)
    document_name = fields.String(required=True)
    message = fields.String(load_default=None, allow_none=True)
    created_by = fields.UUID(load_default=None, allow_none=True)


class _Approver(_EventData):
    id = fields.UUID(required=True)
    email = fields.String(required=True)
    status = fields.String(required=True)
    comment = fields.String(load_default=None, allow_none=True)
    decided_through = fields.String(load_default=None, allow_none=True)
    link_id = fields.UUID(load_default=None, allow_none=True)


class ApproverEmailDueEventSchema(_EventData):
    """documents.approver_email_due"""

    approval_request = fields.Nested(_Approval, required=True)
    approver = fields.Nested(_Approver, required=True)
    firm_name = fields.String(required=True)
    sender_name = fields.String(load_default=None, allow_none=True)


class ApprovalDecidedEventSchema(_EventData):
    """documents.approval_decided"""

    approval_request = fields.Nested(_Approval, required=True)
    approver = fields.Nested(_Approver, required=True)


def in_words(when: datetime | None) -> str | None:
    return f"{when.day} {when:%B %Y} at {when:%H:%M} UTC" if when else None


# -- the Inbox+ ----------------------------------------------------------------------------------------


def approval_decided(db: Session, user_ids: Iterable[uuid.UUID], firm_id: uuid.UUID, account_id: uuid.UUID,
                     request: Mapping[str, Any], approver: Mapping[str, Any]) -> list[InboxItem]:
    """An approver decided: each recipient's item of that request says who decided what (with the comment
    of a disapproval), unread. Decisions arrive in any order: each approver's is kept by address."""
    items = [_item(db, firm_id, user_id, account_id, APPROVAL_DECIDED_ITEM, uuid.UUID(str(request["id"])))
             for user_id in _in_order(user_ids)]
    for item in items:
        data = dict(item.data or {})
        decisions = dict(data.get("decisions") or {})
        decisions[str(approver["email"])] = {"status": approver["status"], "comment": approver.get("comment")}
        data.update(decisions=decisions, approval_request={"id": str(request["id"]),
                                                           "document_id": str(request["document_id"]),
                                                           "document_name": request["document_name"]})
        item.data = data
        item.count = sum(1 for d in decisions.values() if d["status"] != "pending")
        name = _clip(f"“{request['document_name']}”", 120)
        if approver["status"] == "disapproved":
            title = f"{approver['email']} disapproved {name}"
            body = f"Comment: {approver.get('comment') or '(none)'}"
        else:
            title = f"{approver['email']} approved {name}"
            body = f"{item.count} decision{'s' if item.count != 1 else ''} so far."
        _touched(item, title, body)
    return items


class ShareNotices:
    """The handlers (a mixin of NotificationsService)."""

    links: Any
    settings: Any
    db: Any

    def _live_link_urls(self, firm_id: str, link_ids: list[str]) -> dict[str, str]:
        """link id -> the page its holder opens (a share recipient's, an approver's), for the links that are live
        (revoked ones are not emailed)."""
        return live_page_urls(self.links, firm_id, link_ids, self.settings.base_url)

    @event_handler(SHARE_SENT)
    def on_share_sent(self, event: dict) -> None:
        """Email each recipient his own link (template `share`), whatever the account's notification settings:
        a share goes to third parties. A recipient whose link is gone (revoked meanwhile) is `suppressed`."""
        try:
            data = schema(ShareSentEventSchema).load(event.get("data"))
        except ValidationError as exc:
            log.error("event %s cannot be handled and is dropped: %s", event["id"], exc.messages)
            return
        firm_id = event["firm_id"]
        urls = self._live_link_urls(firm_id, [str(r["link_id"]) for r in data["recipients"] if r["link_id"]])
        for recipient in data["recipients"]:
            context = {"firm_name": data["firm_name"], "message": data["share"]["message"] or "",
                       "sender_name": data["sender_name"] or None,
                       "document_names": [d["name"] for d in data["documents"]] or ["(documents)"],
                       "expires_at": in_words(recipient["expires_at"])}
            url = urls.get(str(recipient["link_id"]))
            if url is None:
                self._suppress(firm_id, recipient["email"], "share", context, "link_unavailable")
                continue
            self._queue_or_log({"firm_id": firm_id, "to": recipient["email"], "template": "share",
                                "context": {**context, "share_url": url}})

    @event_handler(APPROVER_EMAIL_DUE)
    def on_approver_email_due(self, event: dict) -> None:
        """Email one approver his own link (template `approval_request`); a link no longer live (revoked) is
        recorded `suppressed`, not emailed."""
        data = self._event_data(schema(ApproverEmailDueEventSchema), event)
        if data is None:
            return
        firm_id, request, approver = event["firm_id"], data["approval_request"], data["approver"]
        context = {"firm_name": data["firm_name"], "document_name": request["document_name"],
                   "message": request["message"] or "", "sender_name": data["sender_name"] or None}
        link_id = str(approver["link_id"]) if approver["link_id"] else None
        url = self._live_link_urls(firm_id, [link_id]).get(link_id) if link_id else None
        if url is None:
            log.info("approval request %s: approver %s's link is not live, no email", request["id"], approver["id"])
            self._suppress(firm_id, approver["email"], "approval_request", context, "link_unavailable")
            return
        self._queue_or_log({"firm_id": firm_id, "to": approver["email"], "template": "approval_request",
                            "context": {**context, "approval_url": url}})

    @event_handler(APPROVAL_DECIDED)
    def on_approval_decided(self, event: dict) -> None:
        """The firm's Inbox+ hears of each decision: the request's creator and the account's team."""
        data = self._event_data(schema(ApprovalDecidedEventSchema), event)
        if data is None:
            return
        request = data["approval_request"]
        approval_decided(self.db.session, self._staff_to_tell(event, [request["created_by"]]),
                         uuid.UUID(event["firm_id"]), uuid.UUID(event["account_id"]), request, data["approver"])
