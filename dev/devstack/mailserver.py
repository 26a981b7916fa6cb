"""The development SMTP server: accepts every message and stores it in a Maildir.

    python -m devstack.mailserver --host 127.0.0.1 --port 8025 --maildir var/mail

aiosmtpd's Mailbox handler does the storing (one file per message, written atomically through
tmp/ into new/), and adds X-MailFrom / X-RcptTo headers with the SMTP envelope, so a reader can
tell who a message was delivered to even when the To: header says otherwise (Bcc).
"""
from __future__ import annotations

import argparse
import signal
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox


def mail_server(host: str, port: int, maildir: Path) -> Controller:
    """An SMTP server (not started yet) storing every message it accepts in `maildir`."""
    # mailbox.Maildir makes tmp/ new/ cur/ only when the folder itself is missing; make them always.
    for part in ("tmp", "new", "cur"):
        (maildir / part).mkdir(parents=True, exist_ok=True)
    # SMTPUTF8 lets through addresses with non-ASCII characters, as a real relay would.
    return Controller(Mailbox(maildir), hostname=host, port=port, enable_SMTPUTF8=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack.mailserver", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8025)
    parser.add_argument("--maildir", type=Path, default=Path("var/mail"))
    args = parser.parse_args(argv)

    server = mail_server(args.host, args.port, args.maildir)
    # Block the signals before the server thread starts, so only sigwait below receives them.
    stop_signals = {signal.SIGINT, signal.SIGTERM}
    signal.pthread_sigmask(signal.SIG_BLOCK, stop_signals)
    server.start()  # returns once the server answers on its port
    print(f"SMTP on {args.host}:{args.port}, storing into Maildir {args.maildir.absolute()}", flush=True)
    signal.sigwait(stop_signals)
    server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
