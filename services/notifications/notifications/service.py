"""The notifications service's entrypoints: validate, call the domain, commit, dump."""
from __future__ import annotations

from nameko.rpc import rpc
from nameko.timer import timer

from notifications import outgoing
from notifications.dependencies import Mailer
from notifications.models import messaging
from notifications.schemas import SendEmailResultSchema, SendEmailSchema
from shared.dependencies import Database
from shared.entrypoints import write
from shared.schemas import validated
from shared.service import PortaService

# Seconds between two sweeps of the queued emails in each instance.
SWEEP_INTERVAL = 5.0


class NotificationsService(PortaService):
    name = "notifications"
    db = Database(messaging)
    mail = Mailer()

    @rpc
    @write
    def send_email(self, payload: dict) -> dict:
        """Accept an email: `{firm_id, to, template, context}` -> `{id, status}`.

        The row is committed as `queued` before the reply, so an accepted email is never lost;
        the first attempt runs right after the commit, retries in `sweep_emails`.
        """
        data = validated(SendEmailSchema(), payload)
        email = outgoing.queue_email(self.db.session, firm_id=data["firm_id"], to=data["to"],
                                     template=data["template"], context=data["context"],
                                     message_id=self.mail.new_message_id())
        self.mail.deliver_after_commit(self.db.session, email.id)
        return SendEmailResultSchema().dump(email)

    @timer(interval=SWEEP_INTERVAL)
    def sweep_emails(self) -> None:
        """Attempt queued emails whose next attempt is due (retries, and any an instance left behind)."""
        outgoing.deliver_due(self.db.session, self.mail.sender)
