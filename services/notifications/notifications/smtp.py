"""Handing a message to the SMTP server (settings.smtp_host/port), From settings.mail_from.

Plain smtplib: under nameko its sockets are eventlet's, so a slow server blocks one worker,
not the service.
"""
from __future__ import annotations

import contextlib
import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid, parseaddr

from shared.config import Settings


class PermanentFailure(Exception):
    """The server refused this message for good (an unknown recipient): retrying will not help."""


@dataclass(frozen=True)
class SmtpSender:
    host: str
    port: int
    mail_from: str  # the From header, "Name <address>"
    timeout: float = 30.0  # seconds per socket operation

    @classmethod
    def from_settings(cls, settings: Settings) -> SmtpSender:
        return cls(settings.smtp_host, settings.smtp_port, settings.mail_from)

    @property
    def domain(self) -> str:
        return parseaddr(self.mail_from)[1].rpartition("@")[2] or "porta.local"

    def new_message_id(self) -> str:
        """A Message-ID in the From address's domain (without it smtplib would ask DNS for our name)."""
        return make_msgid(domain=self.domain)

    def send(self, message: EmailMessage) -> None:
        """Deliver `message` to its To address; returns once the server accepted it.

        Raises PermanentFailure when the server refuses the recipient with a 5xx code;
        anything else (OSError, other smtplib errors) is worth retrying later.
        """
        smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        try:
            smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            if all(code >= 500 for code, _ in exc.recipients.values()):
                raise PermanentFailure(f"recipient refused: {exc.recipients}") from exc
            raise
        except smtplib.SMTPNotSupportedError as exc:  # e.g. a non-ASCII address and no SMTPUTF8
            raise PermanentFailure(str(exc)) from exc
        finally:
            # The server has the message once DATA was accepted: a failing QUIT changes nothing.
            with contextlib.suppress(smtplib.SMTPException, OSError):
                smtp.quit()
            smtp.close()
