import mailbox
import signal
import smtplib
import subprocess
import sys
from email.header import decode_header, make_header
from email.message import EmailMessage

import pytest

from devstack import environment
from devstack.mailserver import Refusals, mail_server


def _message(subject: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "Porta <no-reply@porta.local>"
    message["To"] = "Zoë Client <zoe@client.test>"
    message["Subject"] = subject
    message.set_content("Your documents are ready ✓")
    return message


def test_every_message_is_stored_in_the_maildir_with_its_envelope(tmp_path):
    port = environment.free_port()
    server = mail_server("127.0.0.1", port, tmp_path / "mail")
    server.start()
    try:
        with smtplib.SMTP("127.0.0.1", port) as smtp:
            smtp.send_message(_message("Héllo"), to_addrs=["zoe@client.test", "bcc@firm.test"])
    finally:
        server.stop()

    stored = list(mailbox.Maildir(tmp_path / "mail"))
    assert len(stored) == 1
    assert stored[0]["X-RcptTo"] == "zoe@client.test, bcc@firm.test"
    assert stored[0]["X-MailFrom"] == "no-reply@porta.local"
    assert "Your documents are ready" in stored[0].get_payload(decode=True).decode()


def test_the_command_serves_until_sigterm_and_mail_outlives_it(tmp_path):
    port = environment.free_port()
    maildir = tmp_path / "mail"
    command = [sys.executable, "-m", "devstack.mailserver", "--port", str(port), "--maildir", str(maildir)]
    for subject in ("first run", "second run"):
        server = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        try:
            environment.wait_for_port("127.0.0.1", port, timeout=15, process=server)
            with smtplib.SMTP("127.0.0.1", port) as smtp:
                smtp.send_message(_message(subject))
        finally:
            server.send_signal(signal.SIGTERM)
            assert server.wait(timeout=10) == 0

    assert sorted(m["Subject"] for m in mailbox.Maildir(maildir)) == ["first run", "second run"]


def _serving(tmp_path):
    port = environment.free_port()
    server = mail_server("127.0.0.1", port, tmp_path / "mail")
    server.start()
    return server, port


def test_chosen_recipients_are_refused_with_the_reply_given_and_the_others_get_the_message(tmp_path):
    server, port = _serving(tmp_path)
    refusals = Refusals(tmp_path / "mail")
    refusals.refuse("gone-*@client.test", 550, "5.1.1 No such user")
    refusals.refuse("BUSY@client.test", 451)
    try:
        with smtplib.SMTP("127.0.0.1", port) as smtp:
            refused = smtp.send_message(_message("partly"), to_addrs=["gone-1@client.test", "busy@Client.test",
                                                                      "zoe@client.test"])
            assert refused == {"gone-1@client.test": (550, b"5.1.1 No such user"),
                               "busy@Client.test": (451, b"4.2.1 Mailbox busy, try again later")}
            with pytest.raises(smtplib.SMTPRecipientsRefused) as caught:
                smtp.send_message(_message("nobody"), to_addrs=["gone-2@client.test"])
            assert caught.value.recipients == {"gone-2@client.test": (550, b"5.1.1 No such user")}
        refusals.accept("BUSY@client.test")
        with smtplib.SMTP("127.0.0.1", port) as smtp:
            assert smtp.send_message(_message("later"), to_addrs=["busy@client.test"]) == {}
    finally:
        server.stop()

    stored = sorted(mailbox.Maildir(tmp_path / "mail"), key=lambda m: m["Subject"])
    assert [(m["Subject"], m["X-RcptTo"]) for m in stored] == [("later", "busy@client.test"),
                                                               ("partly", "zoe@client.test")]


def test_without_smtputf8_a_non_ascii_address_cannot_be_sent_and_with_it_can(tmp_path):
    server, port = _serving(tmp_path)
    refusals = Refusals(tmp_path / "mail")
    message = _message("Zoë")
    message.replace_header("To", "zoë@client.test")
    try:
        refusals.smtputf8(False)
        with smtplib.SMTP("127.0.0.1", port) as smtp:
            with pytest.raises(smtplib.SMTPNotSupportedError):
                smtp.send_message(message)
        refusals.clear()
        with smtplib.SMTP("127.0.0.1", port) as smtp:
            smtp.send_message(message)
    finally:
        server.stop()
    [stored] = mailbox.Maildir(tmp_path / "mail", factory=None)
    assert str(make_header(decode_header(stored["X-RcptTo"]))) == "zoë@client.test"



def test_a_refusal_is_a_4xx_or_5xx_reply_and_a_broken_file_refuses_nothing(tmp_path):
    refusals = Refusals(tmp_path)
    with pytest.raises(ValueError, match="4xx or 5xx"):
        refusals.refuse("*", 250)
    refusals.path.write_text("{not json")
    assert refusals.read() == {"recipients": [], "smtputf8": True}
    assert refusals.refusal_for("anyone@client.test") is None
