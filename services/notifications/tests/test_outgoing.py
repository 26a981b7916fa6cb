"""The queue of outgoing email on the real database, with a stand-in for the SMTP server."""
from __future__ import annotations

import logging
import smtplib
import uuid
from datetime import UTC, datetime
from email.utils import make_msgid

import eventlet
from psycogreen.eventlet import patch_psycopg
from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from notifications import outgoing
from notifications.models import SentEmail
from notifications.smtp import PermanentFailure

TEAM = {"firm_name": "Acme CPA", "inviter_name": "Olive", "accept_url": "https://porta.example/accept?token=t"}


class FakeSender:
    mail_from = "Porta <no-reply@porta.local>"

    def __init__(self, *failures: Exception, pause: float = 0) -> None:
        self.failures = list(failures)
        self.pause = pause
        self.sent = []

    def send(self, message) -> None:
        eventlet.sleep(self.pause)
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append(message)


def queue(db, to="emma@example.com") -> SentEmail:
    email = outgoing.queue_email(db, firm_id=uuid.uuid4(), to=to, template="team_invitation", context=TEAM,
                                 message_id=make_msgid(domain="porta.local"))
    db.commit()
    return email


def fast_forward(db, **values) -> None:
    """Make every queued email due now (as if its backoff or lease had passed), with `values` set."""
    db.execute(update(SentEmail).where(SentEmail.status == "queued")
               .values(next_attempt_at=datetime.now(UTC), **values))
    db.commit()


def seconds_until(moment: datetime) -> float:
    return (moment - datetime.now(UTC)).total_seconds()


def test_a_queued_email_is_sent_once_and_keeps_no_context(db):
    email, sender = queue(db), FakeSender()
    assert outgoing.deliver_due(db, sender) == 1
    db.refresh(email)
    assert (email.status, email.attempts, email.last_error, email.pending_context) == ("sent", 1, None, None)
    assert email.sent_at is not None and email.next_attempt_at is None
    [message] = sender.sent
    assert message["Message-ID"] == email.message_id and message["To"] == "emma@example.com"
    assert outgoing.deliver_due(db, sender) == 0 and len(sender.sent) == 1


def test_a_failed_attempt_keeps_the_email_queued_with_its_error(db):
    email = queue(db)
    outgoing.deliver_due(db, FakeSender(ConnectionRefusedError(111, "Connection refused")))
    db.refresh(email)
    assert (email.status, email.attempts) == ("queued", 1)
    assert email.last_error == "ConnectionRefusedError: [Errno 111] Connection refused"
    assert email.pending_context == TEAM  # kept: the retry renders it again


def test_retries_wait_longer_after_each_failure(db):
    email = queue(db)
    waits = []
    for _ in range(3):
        outgoing.deliver_due(db, FakeSender(OSError("down")))
        db.refresh(email)
        waits.append(seconds_until(email.next_attempt_at))
        fast_forward(db)
    assert [round(w) for w in waits] == [30, 60, 120]


def test_an_email_is_not_attempted_before_its_next_attempt_is_due(db):
    queue(db)
    outgoing.deliver_due(db, FakeSender(OSError("down")))
    sender = FakeSender()
    assert outgoing.deliver_due(db, sender) == 0 and sender.sent == []


def test_after_the_last_attempt_the_email_fails_and_is_logged(db, caplog):
    email = queue(db)
    fast_forward(db, attempts=outgoing.MAX_ATTEMPTS - 1)
    with caplog.at_level(logging.ERROR, logger="notifications.outgoing"):
        outgoing.deliver_due(db, FakeSender(smtplib.SMTPServerDisconnected("gone")))
    db.refresh(email)
    assert (email.status, email.attempts, email.next_attempt_at) == ("failed", outgoing.MAX_ATTEMPTS, None)
    assert email.pending_context is None and "SMTPServerDisconnected" in email.last_error
    assert str(email.id) in caplog.text and "failed after 8 attempts" in caplog.text


def test_a_refused_recipient_fails_at_once(db):
    email = queue(db)
    outgoing.deliver_due(db, FakeSender(PermanentFailure("recipient refused: 550")))
    db.refresh(email)
    assert (email.status, email.attempts) == ("failed", 1)


def test_a_sweep_stops_at_the_first_failure_worth_retrying(db):
    emails = [queue(db, f"p{i}@example.com") for i in range(3)]
    outgoing.deliver_due(db, FakeSender(OSError("down")))
    for email in emails:
        db.refresh(email)
    assert sorted(e.attempts for e in emails) == [0, 0, 1]


def test_an_attempt_that_died_is_made_again_once_its_lease_ends(db):
    email = queue(db)
    assert outgoing.claim_next(db).id == email.id  # an instance claims it, then dies before recording anything
    assert outgoing.claim_next(db) is None  # leased: nobody else takes it meanwhile
    assert outgoing.LEASE.total_seconds() - 10 < seconds_until(email.next_attempt_at) <= outgoing.LEASE.total_seconds()
    fast_forward(db)
    sender = FakeSender()
    assert outgoing.deliver_due(db, sender) == 1
    db.refresh(email)
    assert (email.status, email.attempts) == ("sent", 2)


def test_an_email_being_claimed_elsewhere_is_skipped_not_waited_for(db, engine):
    first, second = queue(db, "a@example.com"), queue(db, "b@example.com")
    with engine.connect() as other:
        other.execute(text("SELECT id FROM sent_emails WHERE id = :id FOR UPDATE"), {"id": first.id})
        with Session(engine) as sweeper:
            sweeper.execute(text("SET lock_timeout = '2s'"))
            assert sweeper.scalar(select(text("1"))) == 1
            assert outgoing.claim_next(sweeper).id == second.id
            assert outgoing.claim_next(sweeper) is None
        other.rollback()


def test_two_sweepers_at_once_send_each_email_exactly_once(db, engine):
    patch_psycopg()  # as the service runs: queries yield to other green threads
    emails = [queue(db, f"p{i}@example.com") for i in range(20)]
    senders = [FakeSender(pause=0.01), FakeSender(pause=0.01)]

    def sweep(sender: FakeSender) -> int:
        with Session(engine) as session:
            return outgoing.deliver_due(session, sender)

    assert sum(eventlet.GreenPool().imap(sweep, senders)) == 20
    sent = [m["Message-ID"] for s in senders for m in s.sent]
    assert sorted(sent) == sorted(e.message_id for e in emails)
    assert all(s.sent for s in senders)  # both took part
    db.expire_all()
    assert {(e.status, e.attempts) for e in db.scalars(select(SentEmail))} == {("sent", 1)}


def test_a_suppressed_email_is_recorded_with_its_reason_and_never_attempted(db):
    email = outgoing.record_suppressed(db, firm_id=uuid.uuid4(), to="quiet@example.com", template="team_invitation",
                                       context=TEAM, reason="notify_off", message_id=make_msgid(domain="porta.local"))
    db.commit()
    sender = FakeSender()
    assert outgoing.deliver_due(db, sender) == 0 and sender.sent == []
    db.refresh(email)
    assert (email.status, email.reason, email.attempts, email.pending_context) == ("suppressed", "notify_off", 0, None)
    assert email.subject == "Olive invited you to join Acme CPA on Porta"
