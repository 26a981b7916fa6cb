"""`self.mail`: the SMTP sender, and delivery of the emails a call queued once that call committed.

The sender is the container's settings' (`smtp_host`, `smtp_port`, `mail_from`), made once at setup.
"""
from __future__ import annotations

import logging
import uuid
from typing import Any

from nameko.extensions import DependencyProvider
from sqlalchemy.orm import Session

from notifications import outgoing
from notifications.smtp import SmtpSender
from shared.config import settings_of

log = logging.getLogger(__name__)


class Mailer(DependencyProvider):
    def setup(self) -> None:
        self.sender = SmtpSender.from_settings(settings_of(self.container))
        self._after_commit: dict[Any, MailerWorker] = {}

    def get_dependency(self, worker_ctx: Any) -> MailerWorker:
        worker = MailerWorker(self.sender)
        self._after_commit[worker_ctx] = worker
        return worker

    def worker_result(self, worker_ctx: Any, result: Any = None, exc_info: Any = None) -> None:
        """Runs after the entrypoint returned, so after `@write` committed and the RPC reply went out:
        the caller does not wait for SMTP, and the attempt still runs in this worker (a graceful stop
        waits for it)."""
        worker = self._after_commit.pop(worker_ctx, None)
        if worker is None or worker.session is None or exc_info is not None:
            return
        try:
            outgoing.deliver_due(worker.session, self.sender, worker.email_ids)
        except Exception:  # the rows stay queued: the sweep tries again
            log.exception("delivery after commit failed; the sweep will retry")
            worker.session.rollback()

    def worker_teardown(self, worker_ctx: Any) -> None:
        self._after_commit.pop(worker_ctx, None)


class MailerWorker:
    def __init__(self, sender: SmtpSender) -> None:
        self.sender = sender
        self.session: Session | None = None
        self.email_ids: list[uuid.UUID] = []

    def new_message_id(self) -> str:
        return self.sender.new_message_id()

    def deliver_after_commit(self, session: Session, email_id: uuid.UUID) -> None:
        """Attempt this email once the call's transaction committed (never if it rolled back)."""
        self.session = session
        self.email_ids.append(email_id)
