"""The queue of outgoing email: accept, claim, attempt, retry with backoff, give up.

An accepted email is a `sent_emails` row committed as `queued` before anyone is told it was
accepted. Delivery happens after that commit, by whichever comes first: the attempt right after
the call, or the periodic sweep of queued rows whose `next_attempt_at` has passed. Any number of
service instances sweep at once: a row is claimed with SELECT ... FOR UPDATE SKIP LOCKED and
leased (its `next_attempt_at` moved LEASE ahead) in a short transaction of its own, so no
transaction stays open during an SMTP conversation and no two instances attempt the same row.

Delivery is at least once. An instance that dies after the SMTP server accepted the message but
before the row says `sent` leaves it queued; when its lease ends, another attempt sends the email
again. A rare duplicate is acceptable for email (and it carries the same Message-ID, which many
mail clients fold into one); a lost invitation is not.

Plain Python over a SQLAlchemy session, no nameko. Unlike the CRM's domain code these functions
commit: a claim must be committed before the attempt it leases the row for.
"""
from __future__ import annotations

import logging
import uuid
from collections.abc import Collection
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from notifications.models import SentEmail, _now
from notifications.rendering import build_message, render, render_subject
from notifications.smtp import PermanentFailure

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
FIRST_RETRY = timedelta(seconds=30)  # then doubling: 30 s, 1 min, 2 min ... in all about an hour
MAX_RETRY = timedelta(minutes=30)
# How long a claimed row is left alone: far longer than one SMTP conversation can take.
LEASE = timedelta(minutes=10)


class Sender(Protocol):
    mail_from: str

    def send(self, message: EmailMessage) -> None: ...


def retry_delay(attempts: int) -> timedelta:
    """The wait after the `attempts`-th failed attempt."""
    return min(FIRST_RETRY * 2 ** min(max(attempts - 1, 0), 20), MAX_RETRY)


def queue_email(
    db: Session, *, firm_id: uuid.UUID, to: str, template: str, context: dict[str, Any], message_id: str
) -> SentEmail:
    """Record an email as queued, due at once. Rendering it now refuses a context the templates cannot use."""
    subject = render(template, context).subject
    now = _now()
    email = SentEmail(
        id=uuid.uuid4(), firm_id=firm_id, template=template, recipient=to, subject=subject, status="queued",
        attempts=0, next_attempt_at=now, pending_context=context, message_id=message_id, created_at=now,
    )
    db.add(email)
    db.flush()
    return email


def record_suppressed(db: Session, *, firm_id: uuid.UUID, to: str, template: str, context: dict[str, Any],
                      reason: str, message_id: str) -> SentEmail:
    """Record an email that was decided against (`suppressed`, with why): never attempted, no context kept
    (only the subject it would have had), but visible next to the ones that were sent."""
    email = SentEmail(
        id=uuid.uuid4(), firm_id=firm_id, template=template, recipient=to, subject=render_subject(template, context),
        status="suppressed", reason=reason[:100], attempts=0, next_attempt_at=None, pending_context=None,
        message_id=message_id, created_at=_now(),
    )
    db.add(email)
    db.flush()
    log.info("email %s (%s) suppressed: %s", email.id, template, reason)
    return email


def claim_next(db: Session, email_ids: Collection[uuid.UUID] | None = None) -> SentEmail | None:
    """The next due queued email (among `email_ids` if given), leased for one attempt; commits.

    Rows another instance is claiming at this moment are skipped, not waited for.
    """
    now = _now()
    query = (
        select(SentEmail)
        .where(SentEmail.status == "queued", SentEmail.next_attempt_at <= now)
        .order_by(SentEmail.next_attempt_at)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    if email_ids is not None:
        query = query.where(SentEmail.id.in_(list(email_ids)))
    email = db.scalars(query).first()
    if email is not None:
        email.attempts += 1
        email.next_attempt_at = now + LEASE
    db.commit()
    return email


def attempt(db: Session, sender: Sender, email: SentEmail) -> str:
    """One delivery attempt of a claimed email; records the outcome, commits and returns the new status."""
    try:
        rendered = render(email.template, email.pending_context or {})
        message = build_message(rendered, mail_from=sender.mail_from, to=email.recipient,
                                message_id=email.message_id,
                                attachments=(email.pending_context or {}).get("attachments"))
    except Exception as exc:  # this context will never render with these templates again
        _give_up(email, exc)
    else:
        try:
            sender.send(message)
        except PermanentFailure as exc:
            _give_up(email, exc)
        except Exception as exc:  # server down, timeout, 4xx: try again later
            _retry_later(email, exc, _now())
        else:
            # A crash between here and the commit resends this email later (see the module's docstring).
            email.status, email.sent_at = "sent", _now()
            email.next_attempt_at = email.last_error = email.pending_context = None
    db.commit()
    return email.status


def deliver_due(db: Session, sender: Sender, email_ids: Collection[uuid.UUID] | None = None,
                limit: int = 50) -> int:
    """Attempt up to `limit` due emails (only `email_ids` if given), claiming one at a time; returns
    how many were sent. Stops at the first failure worth retrying: the server is likely down, and
    the rest wait for the next sweep instead of each waiting for a timeout now."""
    sent = 0
    for _ in range(limit):
        email = claim_next(db, email_ids)
        if email is None:
            break
        status = attempt(db, sender, email)
        if status == "sent":
            sent += 1
        elif status == "queued":
            break
    return sent


def _error(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:500]


def _retry_later(email: SentEmail, exc: BaseException, now: datetime) -> None:
    email.last_error = _error(exc)
    if email.attempts >= MAX_ATTEMPTS:
        _give_up(email, exc)
        return
    delay = retry_delay(email.attempts)
    email.next_attempt_at = now + delay
    log.warning("email %s (%s) attempt %d failed, next in %ds: %s", email.id, email.template, email.attempts,
                delay.total_seconds(), email.last_error)


def _give_up(email: SentEmail, exc: BaseException) -> None:
    email.status, email.last_error = "failed", _error(exc)
    email.next_attempt_at = email.pending_context = None
    log.error("email %s (%s) failed after %d attempts: %s", email.id, email.template, email.attempts,
              email.last_error)
