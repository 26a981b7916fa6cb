import mailbox
import signal
import smtplib
import subprocess
import sys
from email.message import EmailMessage

from devstack import environment
from devstack.mailserver import mail_server


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
