"""The notifications service's entrypoints: validate, call the domain, commit, dump."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from nameko.rpc import RpcProxy
from nameko.timer import timer

from notifications import outgoing
from notifications.dependencies import Mailer
from notifications.models import SentEmail, messaging
from notifications.schemas import SendEmailResultSchema, SendEmailSchema
from shared.config import load_settings
from shared.dependencies import Database
from shared.entrypoints import event_handler, write
from shared.rpc import rpc
from shared.schemas import validated
from shared.service import PortaService

# Seconds between two sweeps of the queued emails in each instance.
SWEEP_INTERVAL = 5.0
# How long an emailed invitation link works; a reinvite replaces it sooner.
INVITATION_LIFETIME = timedelta(days=14)


class NotificationsService(PortaService):
    name = "notifications"
    db = Database(messaging)
    mail = Mailer()
    links = RpcProxy("links")

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

    @timer(interval=SWEEP_INTERVAL)
    def sweep_emails(self) -> None:
        """Attempt queued emails whose next attempt is due (retries, and any an instance left behind)."""
        outgoing.deliver_due(self.db.session, self.mail.sender)
