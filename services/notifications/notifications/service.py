"""The notifications service's entrypoints: validate, call the domain, commit, dump."""
from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime, timedelta

from nameko.rpc import RpcProxy
from nameko.timer import timer

from notifications import activity, outgoing
from notifications.dependencies import Mailer
from notifications.models import SentEmail, messaging
from notifications.schemas import ActivityPageSchema, ActivityQuerySchema, SendEmailResultSchema, SendEmailSchema
from shared.config import load_settings
from shared.context import require_principal
from shared.dependencies import Database
from shared.entrypoints import event_handler, every_event, write
from shared.errors import Forbidden
from shared.rpc import rpc
from shared.schemas import validated
from shared.service import PortaService

log = logging.getLogger(__name__)

# Seconds between two sweeps of the queued emails in each instance.
SWEEP_INTERVAL = 5.0
# How long an emailed invitation link works; a reinvite replaces it sooner.
INVITATION_LIFETIME = timedelta(days=14)


class NotificationsService(PortaService):
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
        return SendEmailResultSchema().dump(self._queue(payload))

    def _queue(self, payload: dict) -> SentEmail:
        data = validated(SendEmailSchema(), payload)
        email = outgoing.queue_email(self.db.session, firm_id=data["firm_id"], to=data["to"],
                                     template=data["template"], context=data["context"],
                                     message_id=self.mail.new_message_id())
        self.mail.deliver_after_commit(self.db.session, email.id)
        return email

    def _invitation_url(self, firm_id: str, user_id: str) -> str:
        """A fresh single-use link for this user; it voids his earlier invitation links."""
        link = self.links.issue_link(payload={
            "firm_id": firm_id, "kind": "invitation", "target": {"type": "user", "id": user_id},
            "replace": True, "expires_at": (datetime.now(UTC) + INVITATION_LIFETIME).isoformat(),
        })
        return f"{load_settings().base_url}/p/{link['token']}"

    @event_handler("crm", "portal_invitation_requested")
    def on_portal_invitation_requested(self, event: dict) -> None:
        data = event["data"]
        self._queue({"firm_id": data["firm_id"], "to": data["email"], "template": "portal_invitation", "context": {
            "firm_name": data["firm_name"], "account_name": data["account_name"],
            "recipient_name": data.get("first_name"),
            "activation_url": self._invitation_url(data["firm_id"], data["user_id"]),
        }})

    @event_handler("crm", "team_member_invited")
    def on_team_member_invited(self, event: dict) -> None:
        data, member = event["data"], event["data"]["member"]
        self._queue({"firm_id": member["firm_id"], "to": member["email"], "template": "team_invitation", "context": {
            "firm_name": data["firm_name"], "inviter_name": data["inviter_name"], "recipient_name": member["name"],
            "accept_url": self._invitation_url(member["firm_id"], member["id"]),
        }})

    # -- the activity feed ------------------------------------------------------------------------

    @every_event("crm", "notifications.activity.crm")
    def record_crm_activity(self, event: dict) -> None:
        """Every crm event, whatever its type, becomes one feed entry."""
        self._record_activity("crm", event)

    @every_event("links", "notifications.activity.links")
    def record_links_activity(self, event: dict) -> None:
        """Every links event, whatever its type, becomes one feed entry."""
        self._record_activity("links", event)

    def _record_activity(self, source: str, event: dict) -> None:
        entry = activity.describe(source, event, self.context.principal)
        if entry is None:
            log.debug("event %s.%s %s names no firm: not in the activity feed", source, event["type"], event["id"])
            return
        activity.record(self.db.session, source, event, entry)

    @rpc
    def list_activity(self, query: dict) -> dict:
        """The caller's firm's feed, newest first: `{limit?, cursor?, account_id?}` -> `{items, next_cursor}`."""
        principal = require_principal(self.context.principal)
        if principal.kind != "staff":
            raise Forbidden("The activity feed is for the firm's staff.")
        params = validated(ActivityQuerySchema(), query)
        items, cursor = activity.list_activity(self.db.session, uuid.UUID(principal.firm_id), params["account_id"],
                                               params["limit"], params["cursor"], self._visible_accounts())
        return ActivityPageSchema().dump({"items": items, "next_cursor": cursor})

    def _visible_accounts(self) -> set[uuid.UUID] | None:
        """The accounts the caller may see, None for all of them: crm decides (API.md: an employee sees
        only the accounts assigned to him unless he has view_all_accounts; owner and admins see all)."""
        visible = self.crm.list_visible_account_ids()
        return None if visible["all"] else {uuid.UUID(i) for i in visible["ids"]}

    @timer(interval=SWEEP_INTERVAL)
    def sweep_emails(self) -> None:
        """Attempt queued emails whose next attempt is due (retries, and any an instance left behind)."""
        outgoing.deliver_due(self.db.session, self.mail.sender)
