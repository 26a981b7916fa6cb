"""send_email over the run's RabbitMQ, its database and its SMTP server (messages read from its Maildir)."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from nameko.standalone.rpc import ServiceRpcProxy
from nameko.testing.services import entrypoint_hook, entrypoint_waiter
from sqlalchemy import update

from notifications import outgoing
from notifications.models import SentEmail
from notifications.service import NotificationsService
from shared.errors import ValidationFailed

FIRM_ID = str(uuid.uuid4())
TEAM = {"firm_name": "Acme CPA", "inviter_name": "Olive Owner",
        "accept_url": "https://porta.example/accept?token=tok-123&x=1"}


@pytest.fixture
def to():
    """A recipient no other test writes to."""
    return f"emma-{uuid.uuid4().hex[:8]}@example.com"


def send(config, to, context_data=None, **changes):
    payload = {"firm_id": FIRM_ID, "to": to, "template": "team_invitation", "context": TEAM, **changes}
    with ServiceRpcProxy("notifications", config, timeout=10, context_data=context_data or {}) as notifications:
        return notifications.send_email(payload)


def addressed_to(address):
    return lambda message: message["X-RcptTo"] == address


def sent_row(emails):
    return lambda: next((e for e in emails() if e.status == "sent"), None)


def make_due(engine):
    """What waiting out the backoff would do."""
    with engine.begin() as conn:
        conn.execute(update(SentEmail).values(next_attempt_at=datetime.now(UTC)))


def test_send_email_delivers_text_and_html_to_the_recipient_and_records_it_sent(
        container_factory, config, mailbox, emails, eventually, to):
    container_factory(NotificationsService, config).start()
    result = send(config, to)
    assert result["status"] == "queued"  # the reply does not wait for SMTP
    message = mailbox.wait_for(addressed_to(to))
    assert message["To"] == to and message["Subject"] == "Olive Owner invited you to join Acme CPA on Porta"
    assert message["From"] == "Porta <no-reply@porta.local>"
    assert message.get_content_type() == "multipart/alternative"
    assert "https://porta.example/accept?token=tok-123&x=1" in message.get_body(("plain",)).get_content()
    assert 'href="https://porta.example/accept?token=tok-123&amp;x=1"' in message.get_body(("html",)).get_content()
    row = eventually(sent_row(emails))
    assert str(row.id) == result["id"] and row.recipient == to and row.template == "team_invitation"
    assert row.subject == message["Subject"] and row.message_id == message["Message-ID"]
    assert (row.attempts, row.last_error, row.pending_context) == (1, None, None)


def test_the_first_attempt_is_made_right_after_the_call_not_at_the_next_sweep(container_factory, config, emails, to):
    container = container_factory(NotificationsService, config)
    container.start()  # its first sweep is SWEEP_INTERVAL away
    with entrypoint_waiter(container, "send_email"):  # returns once the call's worker is done
        send(config, to)
    [row] = emails()
    assert (row.status, row.attempts) == ("sent", 1)


def test_while_smtp_is_unreachable_the_email_stays_queued_with_its_error(
        container_factory, config, notifications_config, smtp_gate, mailbox, emails, eventually, to):
    container_factory(NotificationsService, notifications_config(smtp_port=smtp_gate.port)).start()
    assert send(config, to)["status"] == "queued"
    row = eventually(lambda: next((e for e in emails() if e.last_error), None))
    assert (row.status, row.attempts) == ("queued", 1)
    assert row.last_error.startswith("ConnectionRefusedError")
    assert row.next_attempt_at > datetime.now(UTC) + timedelta(seconds=20)
    assert row.pending_context is not None  # what the retry renders from
    assert mailbox.messages() == []


def test_once_smtp_answers_the_sweep_delivers_a_queued_email_exactly_once(
        container_factory, config, notifications_config, smtp_gate, engine, mailbox, emails, eventually, to):
    container = container_factory(NotificationsService, notifications_config(smtp_port=smtp_gate.port))
    container.start()
    send(config, to)
    eventually(lambda: any(e.last_error for e in emails()))
    smtp_gate.open()
    make_due(engine)
    message = mailbox.wait_for(addressed_to(to), timeout=20)
    row = eventually(sent_row(emails))
    with entrypoint_waiter(container, "sweep_emails", timeout=20):
        pass  # one more sweep after the email was sent
    assert len([m for m in mailbox.messages() if addressed_to(to)(m)]) == 1
    assert (row.attempts, row.last_error) == (2, None) and row.message_id == message["Message-ID"]


def test_an_unknown_template_is_a_validation_error_and_records_nothing(container_factory, config, emails, to):
    container_factory(NotificationsService, config).start()
    with pytest.raises(ValidationFailed) as failure:
        send(config, to, template="password_reset")
    assert "template" in failure.value.errors
    assert emails() == []


def test_the_same_call_delivered_twice_queues_and_sends_one_email(
        container_factory, config, mailbox, emails, eventually, to):
    container_factory(NotificationsService, config).start()
    # What the broker does after a crash between commit and reply: the same message, again.
    first = send(config, to, context_data={"call_key": "send-1"})
    second = send(config, to, context_data={"call_key": "send-1"})
    assert first == second
    mailbox.wait_for(addressed_to(to))
    eventually(sent_row(emails))
    assert len(emails()) == 1
    assert len([m for m in mailbox.messages() if addressed_to(to)(m)]) == 1


# -- what the SMTP server answers (devstack.mailserver's refusals) ---------------------------------------


def run_sweep(container) -> None:
    """One sweep now, as the timer would run it (and wait for it)."""
    with entrypoint_hook(container, "sweep_emails") as sweep:
        sweep()


def settled(emails, attempts):
    """The only row once it has been attempted `attempts` times and its outcome is recorded (not leased)."""

    def read():
        [row] = emails()
        leased = row.status == "queued" and row.next_attempt_at > datetime.now(UTC) + outgoing.LEASE / 2
        return row if row.attempts == attempts and not leased else None

    return read


def test_a_recipient_refused_with_a_5xx_fails_at_once_and_is_never_retried(
        container_factory, config, smtp_refusals, engine, mailbox, emails, eventually, to):
    smtp_refusals.refuse(to, 550, "5.1.1 No such user here")
    container = container_factory(NotificationsService, config)
    container.start()
    with entrypoint_waiter(container, "send_email"):
        result = send(config, to)
    assert result["status"] == "queued"
    [row] = emails()
    assert (row.status, row.attempts, row.next_attempt_at, row.pending_context) == ("failed", 1, None, None)
    assert row.last_error.startswith("PermanentFailure") and "550" in row.last_error
    assert "No such user here" in row.last_error

    # Even once the server would take it, and with a sweep due, a failed email is never attempted again.
    smtp_refusals.accept(to)
    make_due(engine)
    run_sweep(container)
    [row] = emails()
    assert (row.status, row.attempts) == ("failed", 1)
    assert mailbox.messages() == []


def test_a_recipient_refused_with_a_4xx_is_retried_later_and_delivered_once_accepted(
        container_factory, config, smtp_refusals, engine, mailbox, emails, eventually, to):
    smtp_refusals.refuse(to, 451, "4.2.1 Mailbox busy")
    container = container_factory(NotificationsService, config)
    container.start()
    with entrypoint_waiter(container, "send_email"):
        send(config, to)
    [row] = emails()
    assert (row.status, row.attempts) == ("queued", 1)
    assert row.last_error.startswith("SMTPRecipientsRefused") and "451" in row.last_error
    assert row.next_attempt_at > datetime.now(UTC) + timedelta(seconds=20)  # the backoff, not a busy loop
    assert row.pending_context is not None  # what the retry renders from

    make_due(engine)  # the backoff has passed; the server still says 451
    run_sweep(container)
    row = eventually(settled(emails, 2))
    assert (row.status, "451" in row.last_error) == ("queued", True)
    assert mailbox.messages() == []

    smtp_refusals.accept(to)
    make_due(engine)
    run_sweep(container)
    row = eventually(settled(emails, 3))
    assert (row.status, row.last_error, row.pending_context) == ("sent", None, None)
    [message] = [m for m in mailbox.messages() if addressed_to(to)(m)]
    assert message["Message-ID"] == row.message_id  # the same email, not a new one
    run_sweep(container)
    assert len([m for m in mailbox.messages() if addressed_to(to)(m)]) == 1


def test_a_non_ascii_recipient_fails_for_good_when_the_server_cannot_take_it(
        container_factory, config, smtp_refusals, mailbox, emails):
    smtp_refusals.smtputf8(False)
    to = f"zoë-{uuid.uuid4().hex[:8]}@example.com"
    container = container_factory(NotificationsService, config)
    container.start()
    with entrypoint_waiter(container, "send_email"):
        send(config, to)
    [row] = emails()
    assert (row.status, row.attempts) == ("failed", 1)
    assert row.last_error.startswith("PermanentFailure") and "SMTPUTF8" in row.last_error
    assert mailbox.messages() == []
