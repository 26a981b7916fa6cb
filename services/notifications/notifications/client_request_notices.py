"""Client requests in notifications: the recipients' emails, the firm's Inbox+ item when answers are
submitted, and the activity lines of their events.

- `client_request_sent`: each recipient gets the email `client_request`, as audience.decide says for the
  `organizers` category (a questionnaire; an access row with NOTIFY or that category off gets nothing,
  a third party always gets it). A link request's email carries its link (revealed from the links
  service, never from an event); a `login_required` one points to the portal.
- `client_request_submitted`: one Inbox+ item (kind `client_request_submitted`) per staff member to tell
  (the request's creator, the account's team; crm decides). documents emits it once per request, and
  the item is keyed by the request, so a redelivery changes nothing a person would see twice.

`ClientRequestNotices` is a mixin of NotificationsService (it uses its `_event_data`, `_queue_or_log`,
`_suppress`, `_invitation_url`, `_staff_to_tell`, `crm`, `links`, `settings`); `request_submitted` is plain
Python over a session (the caller commits).
"""
from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from marshmallow import EXCLUDE, Schema, fields
from sqlalchemy.orm import Session

from notifications import audience, inbox
from notifications.inbox import _clip, _in_order, _item, _touched
from notifications.models import InboxItem
from shared.contracts.documents import CLIENT_REQUEST_SENT, CLIENT_REQUEST_SUBMITTED
from shared.contracts.links import live_page_urls
from shared.entrypoints import event_handler
from shared.errors import NotFound
from shared.schemas import schema

log = logging.getLogger(__name__)

SUBMITTED_ITEM = "client_request_submitted"  # the Inbox+ kind API.md names
CATEGORY = "organizers"  # the client's notification category for questionnaires


def _submitter(data: Mapping[str, Any]) -> str:
    person = data.get("submitted_by") or {}
    if person.get("kind") == "client":
        return (person.get("name") or "").strip() or (person.get("email") or "").strip() or "A portal user"
    return "The person with the link"


# (source, type) -> line, merged into activity.SUMMARIES.
ACTIVITY: dict[tuple[str, str], Any] = {
    ("documents", "client_request_created"): "Client request “{client_request[title]}” created",
    ("documents", "client_request_sent"): lambda data: (
        f"Client request “{data['client_request']['title']}” sent to {', '.join(data['recipients'])}"),
    ("documents", "client_request_submitted"): lambda data: (
        f"{_submitter(data)} submitted the answers to “{data['client_request']['title']}”"),
    ("documents", "client_request_canceled"): "Client request “{client_request[title]}” canceled",
}


# -- what the handlers read (tolerant: fields they do not use are ignored) ----------------------------


class _EventData(Schema):
    class Meta:
        unknown = EXCLUDE


class _Request(_EventData):
    id = fields.UUID(required=True)
    title = fields.String(required=True)
    login_required = fields.Boolean(load_default=False)
    link_id = fields.UUID(load_default=None, allow_none=True)
    created_by = fields.UUID(load_default=None, allow_none=True)


class _Submitter(_EventData):
    kind = fields.String(load_default="link")
    user_id = fields.UUID(load_default=None, allow_none=True)
    name = fields.String(load_default=None, allow_none=True)
    email = fields.String(load_default=None, allow_none=True)


class ClientRequestSentEventSchema(_EventData):
    """documents.client_request_sent"""

    client_request = fields.Nested(_Request, required=True)
    recipients = fields.List(fields.String(), required=True)
    firm_name = fields.String(required=True)
    message = fields.String(load_default=None, allow_none=True)


class ClientRequestSubmittedEventSchema(_EventData):
    """documents.client_request_submitted"""

    client_request = fields.Nested(_Request, required=True)
    submitted_by = fields.Nested(_Submitter, required=True)
    answered = fields.Integer(load_default=0)
    questions = fields.Integer(load_default=0)
    documents = fields.Integer(load_default=0)


# -- the Inbox+ -----------------------------------------------------------------------------------------


def request_submitted(db: Session, user_ids: Iterable[uuid.UUID], firm_id: uuid.UUID, account_id: uuid.UUID,
                      request: Mapping[str, Any], submitted_by: Mapping[str, Any], answered: int, questions: int,
                      documents: int) -> list[InboxItem]:
    """The answers came in: each recipient's item of that request says who answered how much, unread."""
    items = [_item(db, firm_id, user_id, account_id, SUBMITTED_ITEM, uuid.UUID(str(request["id"])))
             for user_id in _in_order(user_ids)]
    who = _submitter({"submitted_by": submitted_by})
    files = f", {documents} file{'s' if documents != 1 else ''}" if documents else ""
    for item in items:
        item.count = answered
        item.data = {"kind": SUBMITTED_ITEM,
                     "client_request": {"id": str(request["id"]), "title": request["title"]},
                     "submitted_by": {k: (str(v) if v is not None else None) for k, v in submitted_by.items()},
                     "answered": answered, "questions": questions, "documents": documents}
        _touched(item, f"Answers received for {_clip('“' + request['title'] + '”', 120)}",
                 f"{who} answered {answered} of {questions} question{'s' if questions != 1 else ''}{files}.")
    return items


class ClientRequestNotices:
    """The handlers (a mixin of NotificationsService)."""

    crm: Any
    links: Any
    settings: Any
    db: Any

    def _client_request_url(self, firm_id: str, request: Mapping[str, Any]) -> str | None:
        """The portal for a login-required request; else its live link's page (None: nothing to link to)."""
        if request["login_required"]:
            return f"{self.settings.base_url}/portal"
        if request["link_id"] is None:
            return None
        link_id = str(request["link_id"])
        return live_page_urls(self.links, firm_id, [link_id], self.settings.base_url).get(link_id)

    @event_handler(CLIENT_REQUEST_SENT)
    def on_client_request_sent(self, event: dict) -> None:
        """Email each recipient the questionnaire (template `client_request`), as audience.decide says;
        a link no longer live (canceled meanwhile) makes every email `suppressed` as `link_unavailable`."""
        data = self._event_data(schema(ClientRequestSentEventSchema), event)
        if data is None:
            return
        request = data["client_request"]
        firm_id, account_id = event["firm_id"], event["account_id"]
        context = {"firm_name": data["firm_name"], "title": request["title"], "message": data["message"] or "",
                   "login_required": request["login_required"]}
        url = self._client_request_url(firm_id, request)
        for address in dict.fromkeys(a.strip().lower() for a in data["recipients"]):
            if url is None:
                self._suppress(firm_id, address, "client_request", context, "link_unavailable")
                continue
            try:
                preferences = self.crm.client_email_preferences(firm_id=firm_id, account_id=account_id,
                                                                email=address)
            except NotFound:
                log.warning("client request %s: account %s is gone, no email sent", request["id"], account_id)
                return
            decision = audience.decide(preferences, CATEGORY)
            if not decision.send:
                self._suppress(firm_id, address, "client_request", context, decision.reason or "suppressed")
                continue
            name = preferences.get("first_name") if preferences.get("known") else None
            email_context = {**context, "request_url": url, "recipient_name": name or None}
            if decision.banner:
                email_context |= {"needs_activation": True,
                                  "activation_url": self._invitation_url(firm_id, preferences["user_id"])}
            self._queue_or_log({"firm_id": firm_id, "to": address, "template": "client_request",
                                "context": email_context})

    @event_handler(CLIENT_REQUEST_SUBMITTED)
    def on_client_request_submitted(self, event: dict) -> None:
        """The firm's Inbox+ hears of the submission: the request's creator and the account's team."""
        data = self._event_data(schema(ClientRequestSubmittedEventSchema), event)
        if data is None:
            return
        request = data["client_request"]
        self.db.emit_all(inbox.changed(request_submitted(  # the real-time streams push the item
            self.db.session, self._staff_to_tell(event, [request["created_by"]]), uuid.UUID(event["firm_id"]),
            uuid.UUID(event["account_id"]), request, data["submitted_by"], data["answered"], data["questions"],
            data["documents"])))
