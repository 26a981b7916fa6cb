"""The development SMTP server: stores every message it accepts in a Maildir, and refuses on demand.

    python -m devstack.mailserver --host 127.0.0.1 --port 8025 --maildir var/mail

aiosmtpd's Mailbox handler does the storing (one file per message, written atomically through
tmp/ into new/), and adds X-MailFrom / X-RcptTo headers with the SMTP envelope, so a reader can
tell who a message was delivered to even when the To: header says otherwise (Bcc).

By default it accepts every recipient. To see how a sender copes with a real relay's answers, the
file `refusals.json` in the Maildir's folder (`Refusals(maildir)` writes it; the server reads it
again at every EHLO and RCPT TO, so a change applies to the next conversation) makes it:

- refuse recipients whose address matches a pattern (fnmatch, case-insensitive) with a given reply,
  e.g. `550 5.1.1 No such user` (permanent) or `451 4.2.1 Mailbox busy` (try again later);
- leave SMTPUTF8 out of its EHLO answer, as a relay that cannot take non-ASCII addresses does.

    {"recipients": [{"pattern": "bounce-*@example.com", "code": 550, "message": "5.1.1 No such user"}],
     "smtputf8": false}
"""
from __future__ import annotations

import argparse
import contextlib
import fnmatch
import json
import logging
import os
import signal
import tempfile
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox

log = logging.getLogger(__name__)

REFUSALS_FILE = "refusals.json"


class Refusals:
    """The refusals of the server storing into `maildir`: what `refusals.json` says, read and written."""

    def __init__(self, maildir: Path) -> None:
        self.path = Path(maildir) / REFUSALS_FILE

    def read(self) -> dict[str, Any]:
        """`{"recipients": [{pattern, code, message}], "smtputf8": bool}`; nothing refused without the file."""
        try:
            rules = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            rules = {}
        except (OSError, ValueError) as error:  # a broken file must not stop the server: accept everything
            log.warning("ignoring %s: %s", self.path, error)
            rules = {}
        return {"recipients": list(rules.get("recipients") or []), "smtputf8": rules.get("smtputf8", True) is not False}

    def refuse(self, pattern: str, code: int = 550, message: str | None = None) -> None:
        """Refuse recipients matching `pattern` (fnmatch: `*`, `?`) with `code` from the next RCPT TO on."""
        if not 400 <= code <= 599:
            raise ValueError(f"a refusal is a 4xx or 5xx reply, not {code}")
        message = message or ("5.1.1 No such user here" if code >= 500 else "4.2.1 Mailbox busy, try again later")
        rules = self.read()
        rules["recipients"] = [r for r in rules["recipients"] if r["pattern"] != pattern]
        rules["recipients"].append({"pattern": pattern, "code": code, "message": message})
        self._write(rules)

    def accept(self, pattern: str) -> None:
        """Stop refusing recipients matching `pattern` (as given to `refuse`)."""
        rules = self.read()
        rules["recipients"] = [r for r in rules["recipients"] if r["pattern"] != pattern]
        self._write(rules)

    def smtputf8(self, offered: bool) -> None:
        """Offer SMTPUTF8 in the EHLO answer (the default) or not."""
        self._write({**self.read(), "smtputf8": offered})

    def clear(self) -> None:
        """Accept everything again, SMTPUTF8 offered."""
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    def refusal_for(self, address: str) -> str | None:
        """The reply refusing `address` (`"550 5.1.1 ..."`), or None to accept it."""
        for rule in self.read()["recipients"]:
            if fnmatch.fnmatchcase(address.lower(), str(rule["pattern"]).lower()):
                return f"{int(rule['code'])} {rule['message']}"
        return None

    def _write(self, rules: dict[str, Any]) -> None:
        # Through a temporary file and a rename: the server never reads half a file.
        self.path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=".refusals.")
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8") as file:
                json.dump(rules, file)
            os.replace(temporary, self.path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
            raise


class RefusingMailbox(Mailbox):
    """aiosmtpd's Maildir handler, answering RCPT TO and EHLO as `Refusals` say."""

    def __init__(self, maildir: Path) -> None:
        super().__init__(maildir)
        self.refusals = Refusals(maildir)

    async def handle_EHLO(self, server: Any, session: Any, envelope: Any, hostname: str,
                          responses: list[str]) -> list[str]:
        session.host_name = hostname
        if not self.refusals.read()["smtputf8"]:
            responses = [r for r in responses if r[4:].upper() != "SMTPUTF8"]
        return responses

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        refusal = self.refusals.refusal_for(address)
        if refusal is not None:
            log.info("refused recipient %s: %s", address, refusal)
            return refusal
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"


def mail_server(host: str, port: int, maildir: Path) -> Controller:
    """An SMTP server (not started yet) storing every message it accepts in `maildir`."""
    # mailbox.Maildir makes tmp/ new/ cur/ only when the folder itself is missing; make them always.
    for part in ("tmp", "new", "cur"):
        (maildir / part).mkdir(parents=True, exist_ok=True)
    # SMTPUTF8 lets through addresses with non-ASCII characters, as a real relay would.
    return Controller(RefusingMailbox(maildir), hostname=host, port=port, enable_SMTPUTF8=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack.mailserver", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8025)
    parser.add_argument("--maildir", type=Path, default=Path("var/mail"))
    args = parser.parse_args(argv)
    # aiosmtpd's own INFO lines (every connection, every command) would drown the refusals.
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    log.setLevel(logging.INFO)

    server = mail_server(args.host, args.port, args.maildir)
    # Block the signals before the server thread starts, so only sigwait below receives them.
    stop_signals = {signal.SIGINT, signal.SIGTERM}
    signal.pthread_sigmask(signal.SIG_BLOCK, stop_signals)
    server.start()  # returns once the server answers on its port
    print(f"SMTP on {args.host}:{args.port}, storing into Maildir {args.maildir.absolute()} "
          f"(refusals: {Refusals(args.maildir).path.absolute()})", flush=True)
    signal.sigwait(stop_signals)
    server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
