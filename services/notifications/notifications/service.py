"""The notifications service's entrypoints: validate, call the domain, dump; handlers of other services'
events read the envelope (shared.events) for whose event it is, and `data` for the rest."""
from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime, timedelta

from marshmallow import Schema, ValidationError
from marshmallow.validate import Email
from nameko.rpc import RpcProxy
from nameko.timer import timer

from notifications import activity, audience, inbox, outgoing
from notifications.billing_notices import BillingNotices
from notifications.chat_notices import ChatNotices
from notifications.client_request_notices import ClientRequestNotices
from notifications.dependencies import Mailer
from notifications.models import SentEmail, messaging
from notifications.readers import (
    ClientDoneUploadingEventSchema,
    FileRequestDoneEventSchema,
    FileRequestSentEventSchema,
    FilesReceivedEventSchema,
)
from notifications.share_notices import ShareNotices
from notifications.signature_notices import SignatureNotices
from shared.context import Principal, require_principal
from shared.contracts.crm import PORTAL_INVITATION_REQUESTED, TEAM_MEMBER_INVITED
from shared.contracts.documents import (
    CLIENT_DONE_UPLOADING,
    FILE_REQUEST_DONE,
    FILE_REQUEST_FILES_RECEIVED,
    FILE_REQUEST_SENT,
)
from shared.contracts.links import live_page_urls
from shared.contracts.notifications import (
    ActivityPageSchema,
    ActivityQuerySchema,
    InboxItemSchema,
    InboxPageSchema,
    InboxQuerySchema,
    SendEmailResultSchema,
    SendEmailSchema,
)
from shared.dependencies import Database
from shared.entrypoints import event_handler, every_event, idempotent, write
from shared.errors import NotFound, ValidationFailed
from shared.ids import parse_id
from shared.rpc import rpc
from shared.schemas import schema, validated
from shared.service import PortaService

log = logging.getLogger(__name__)

# Seconds between two sweeps of the queued emails in each instance.
SWEEP_INTERVAL = 5.0
# How long an emailed invitation link works; a reinvite replaces it sooner.
INVITATION_LIFETIME = timedelta(days=14)
_is_email = Email()


def _addresses(recipients: list[str]) -> list[str]:
    """Each valid address once, lower-cased, in the order given; an invalid one is logged and skipped."""
    found: dict[str, None] = {}
    for raw in recipients:
        address = raw.strip().lower()
        try:
            _is_email(address)
        except ValidationError:
            log.error("not an email address, nothing sent to it: %r", raw[:254])
            continue
        found.setdefault(address)
    return list(found)


class NotificationsService(BillingNotices, ChatNotices, ClientRequestNotices, ShareNotices, SignatureNotices,
                           PortaService):
    name = "notifications"
    db = Database(messaging)
    mail = Mailer()
    links = RpcProxy("links")
    crm = RpcProxy("crm")

    @rpc
    @write
    def send_email(self, payload: dict) -> dict:
        """Accept an email: `{firm_id, to, template, context}` -> `{id, status}`.

        The row is committed as `queued` before the reply, so an accepted email is never lost;
        the first attempt runs right after the commit, retries in `sweep_emails`.
        """
        return schema(SendEmailResultSchema).dump(self._queue(payload))

    def _queue(self, payload: dict) -> SentEmail:
        data = validated(schema(SendEmailSchema), payload)
        email = outgoing.queue_email(self.db.session, firm_id=data["firm_id"], to=data["to"],
                                     template=data["template"], context=data["context"],
                                     message_id=self.mail.new_message_id())
        self.mail.deliver_after_commit(self.db.session, email.id)
        return email

    def _invitation_url(self, firm_id: str, user_id: str) -> str:
        """A fresh single-use link for this user; it voids his earlier invitation links (`replace`), so the
        newest email he got always works and an older one answers 410. Client emails that carry the
        activate-your-account banner get theirs here too: each such email voids the link of the one before."""
        link = self.links.issue_link(payload={
            "firm_id": firm_id, "kind": "invitation", "target": {"type": "user", "id": user_id},
            "replace": True, "expires_at": (datetime.now(UTC) + INVITATION_LIFETIME).isoformat(),
        })
        return f"{self.settings.base_url}/p/{link['token']}"

    @event_handler(PORTAL_INVITATION_REQUESTED)
    def on_portal_invitation_requested(self, event: dict) -> None:
        firm_id, data = event["firm_id"], event["data"]
        self._queue({"firm_id": firm_id, "to": data["email"], "template": "portal_invitation", "context": {
            "firm_name": data["firm_name"], "account_name": data["account_name"],
            "recipient_name": data.get("first_name"),
            "activation_url": self._invitation_url(firm_id, data["user_id"]),
        }})

    @event_handler(TEAM_MEMBER_INVITED)
    def on_team_member_invited(self, event: dict) -> None:
        firm_id, data, member = event["firm_id"], event["data"], event["data"]["member"]
        self._queue({"firm_id": firm_id, "to": member["email"], "template": "team_invitation", "context": {
            "firm_name": data["firm_name"], "inviter_name": data["inviter_name"], "recipient_name": member["name"],
            "accept_url": self._invitation_url(firm_id, member["id"]),
        }})

    # -- documents: file request emails --------------------------------------------------------------

    @event_handler(FILE_REQUEST_SENT)
    def on_file_request_sent(self, event: dict) -> None:
        """Email each recipient the request's upload page (template `file_request`).

        audience.decide says, per address, whether it goes out and with the activation banner: an
        access row of the account with NOTIFY or `documents_upload` off is recorded `suppressed`, a
        third-party address always gets it. No upload page to link to (revoked, expired): every
        recipient's email is recorded `suppressed` as `link_unavailable`.
        """
        data = self._event_data(schema(FileRequestSentEventSchema), event)
        if data is None:
            return
        request = data["file_request"]
        firm_id, account_id = event["firm_id"], event["account_id"]
        context = {"firm_name": data["firm_name"], "message": request["message"] or ""}
        upload_url = self._upload_url(firm_id, request["link_id"])
        for address in _addresses(data["recipients"]):
            if upload_url is None:
                self._suppress(firm_id, address, "file_request", context, "link_unavailable")
                continue
            try:
                preferences = self.crm.client_email_preferences(firm_id=firm_id, account_id=account_id,
                                                                email=address)
            except NotFound:
                log.warning("file request %s: account %s is gone, no email sent", request["id"], account_id)
                return
            decision = audience.decide(preferences, "documents_upload")
            if not decision.send:
                self._suppress(firm_id, address, "file_request", context, decision.reason or "suppressed")
                continue
            name = preferences.get("first_name") if preferences.get("known") else None
            email_context = {**context, "upload_url": upload_url, "recipient_name": name or None}
            if decision.banner:
                email_context |= {"needs_activation": True,
                                  "activation_url": self._invitation_url(firm_id, preferences["user_id"])}
            self._queue_or_log({"firm_id": firm_id, "to": address, "template": "file_request",
                                "context": email_context})

    def _upload_url(self, firm_id: str, link_id: uuid.UUID | None) -> str | None:
        """The file request's upload page, or None when its link cannot be shown (revoked, expired, unknown)."""
        if link_id is None:
            log.warning("file request without a link: nothing to email")
            return None
        url = live_page_urls(self.links, firm_id, [str(link_id)], self.settings.base_url).get(str(link_id))
        if url is None:
            log.warning("link %s of a file request is not live: nothing to email", link_id)
        return url

    def _suppress(self, firm_id: str, to: str, template: str, context: dict, reason: str) -> None:
        outgoing.record_suppressed(self.db.session, firm_id=uuid.UUID(firm_id), to=to, template=template,
                                   context=context, reason=reason, message_id=self.mail.new_message_id())

    def _queue_or_log(self, payload: dict) -> None:
        """Queue an email of an event; one this service refuses (a firm name too long...) is logged, never
        retried: the event would fail the same way forever."""
        try:
            self._queue(payload)
        except ValidationFailed as exc:
            log.error("%s email to an address of firm %s refused: %s", payload["template"], payload["firm_id"],
                      exc.errors)

    def _event_data(self, data_schema: Schema, event: dict) -> dict | None:
        """The data of an event about an account, as `data_schema` loads it; None (logged, the event dropped)
        when it never could be handled."""
        if not event.get("account_id"):
            log.error("event %s %s names no account and is dropped", event.get("type"), event["id"])
            return None
        try:
            return data_schema.load(event.get("data"))
        except ValidationError as exc:
            log.error("event %s %s cannot be handled and is dropped: %s", event.get("type"), event["id"],
                      exc.messages)
            return None

    # -- documents: the Inbox+ -------------------------------------------------------------------------

    def _staff_to_tell(self, event: dict, also: list[uuid.UUID | None]) -> list[uuid.UUID]:
        """Who hears about an event on an account: crm decides (`also` if still on the team, plus the
        account's assigned team; the owner and admins when that is nobody)."""
        answer = self.crm.list_account_recipients(firm_id=event["firm_id"], account_id=event["account_id"],
                                                  also=[str(u) for u in also if u])
        return [uuid.UUID(u) for u in answer["user_ids"]]

    @event_handler(FILE_REQUEST_FILES_RECEIVED)
    def on_file_request_files_received(self, event: dict) -> None:
        """Files came in through a file request: its item, per recipient, says how many so far, unread."""
        data = self._event_data(schema(FilesReceivedEventSchema), event)
        if data is not None:
            request = data["file_request"]
            self.db.emit_all(inbox.changed(inbox.files_received(
                self.db.session, self._staff_to_tell(event, [request["created_by"]]), uuid.UUID(event["firm_id"]),
                uuid.UUID(event["account_id"]), request, data["uploader"], data["documents"], data["received_count"])))

    @event_handler(FILE_REQUEST_DONE)
    def on_file_request_done(self, event: dict) -> None:
        """A third party pressed "done uploading": the request's item says so, unread."""
        data = self._event_data(schema(FileRequestDoneEventSchema), event)
        if data is not None:
            request = data["file_request"]
            self.db.emit_all(inbox.changed(inbox.file_request_done(
                self.db.session, self._staff_to_tell(event, [request["created_by"]]), uuid.UUID(event["firm_id"]),
                uuid.UUID(event["account_id"]), request, data["uploader"], data["received_count"])))

    @event_handler(CLIENT_DONE_UPLOADING)
    def on_client_done_uploading(self, event: dict) -> None:
        """A portal client pressed "done uploading": the account's uploads item, per recipient, unread."""
        data = self._event_data(schema(ClientDoneUploadingEventSchema), event)
        if data is not None:
            self.db.emit_all(inbox.changed(inbox.client_done_uploading(
                self.db.session, self._staff_to_tell(event, []), uuid.UUID(event["firm_id"]),
                uuid.UUID(event["account_id"]), data["account_name"], data["user"])))

    def _staff(self) -> Principal:
        return require_principal(self.context.principal).require_staff()

    @rpc
    def list_inbox(self, query: dict) -> dict:
        """The caller's own Inbox+, latest activity first: `{limit?, cursor?, unread?}` -> `{items, next_cursor}`."""
        principal = self._staff()
        params = validated(schema(InboxQuerySchema), query)
        items, cursor = inbox.list_inbox(self.db.session, uuid.UUID(principal.firm_id), uuid.UUID(principal.user_id),
                                         params["unread"], params["limit"], params["cursor"])
        return schema(InboxPageSchema).dump({"items": items, "next_cursor": cursor})

    @rpc
    @write
    def mark_inbox_read(self, item_id: str) -> dict:
        """Mark one of the caller's own items read -> the item. Another user's or firm's item: NotFound."""
        principal = self._staff()
        item = inbox.mark_read(self.db.session, uuid.UUID(principal.firm_id), uuid.UUID(principal.user_id),
                               parse_id(item_id, "inbox item"))
        return schema(InboxItemSchema).dump(item)

    # -- the activity feed ------------------------------------------------------------------------

    @every_event("crm", "notifications.activity.crm")
    def record_crm_activity(self, event: dict) -> None:
        """Every crm event, whatever its type, becomes one feed entry."""
        self._record_activity(event)

    @every_event("links", "notifications.activity.links")
    def record_links_activity(self, event: dict) -> None:
        """Every links event, whatever its type, becomes one feed entry."""
        self._record_activity(event)

    @every_event("documents", "notifications.activity.documents")
    def record_documents_activity(self, event: dict) -> None:
        """Every documents event, whatever its type, becomes one feed entry (and so every one of
        them has a queue to go to: the outbox relay publishes with `mandatory`)."""
        self._record_activity(event)

    def _record_activity(self, event: dict) -> None:
        entry = activity.describe(event)
        if entry is None:
            log.warning("event %s.%s %s names no firm: not in the activity feed", event.get("source"),
                        event.get("type"), event["id"])
            return
        activity.record(self.db.session, entry)

    @rpc
    def list_activity(self, query: dict) -> dict:
        """The caller's firm's feed, newest first: `{limit?, cursor?, account_id?}` -> `{items, next_cursor}`."""
        principal = self._staff()
        params = validated(schema(ActivityQuerySchema), query)
        items, cursor = activity.list_activity(self.db.session, uuid.UUID(principal.firm_id), params["account_id"],
                                               params["limit"], params["cursor"], self._visible_accounts())
        return schema(ActivityPageSchema).dump({"items": items, "next_cursor": cursor})

    def _visible_accounts(self) -> set[uuid.UUID] | None:
        """The accounts the caller may see, None for all of them: crm decides (API.md: an employee sees
        only the accounts assigned to him unless he has view_all_accounts; owner and admins see all)."""
        visible = self.crm.list_visible_account_ids()
        return None if visible["all"] else {uuid.UUID(i) for i in visible["ids"]}

    @timer(interval=SWEEP_INTERVAL)
    @idempotent
    def sweep_emails(self) -> None:
        """Attempt queued emails whose next attempt is due (retries, and any an instance left behind)."""
        outgoing.deliver_due(self.db.session, self.mail.sender)
