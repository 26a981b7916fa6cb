"""gunicorn's gthread worker, answering the requests gunicorn refuses itself in JSON like the app's.

gunicorn reads the request line and headers before the app sees anything, and refuses some itself: a
URL longer than `limit_request_line` (414), too many header fields or one too large (431), a request
it cannot parse (400). Its answer is an HTML page; API.md promises JSON errors `{title, description}`.
gunicorn decides the status (and logs) as always; only the body it would write is replaced.
"""
from __future__ import annotations

import json
import re
from typing import Any

from gunicorn import util
from gunicorn.workers.gthread import ThreadWorker

DESCRIPTIONS = {
    400: "The request is not valid HTTP/1.1.",
    403: "Not allowed.",
    414: "The URL is too long.",
    417: "Expectation failed.",
    431: "The request has too many header fields, or one too large.",
    500: "Something went wrong on our side; it has been logged.",
    501: "Not implemented.",
}


class _Captured:
    """A socket stand-in that keeps what gunicorn would send."""

    def __init__(self) -> None:
        self.data = b""

    def gettimeout(self) -> float:
        return 0.0

    def sendall(self, data: bytes) -> None:
        self.data += data


def json_error(status: int, reason: str) -> bytes:
    body = json.dumps({"title": f"{status} {reason}", "description": DESCRIPTIONS.get(status, reason)}).encode()
    head = (f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nX-Content-Type-Options: nosniff\r\nCache-Control: no-store\r\n\r\n")
    return head.encode("latin-1") + body


class JsonErrorsWorker(ThreadWorker):
    def handle_error(self, req: Any, client: Any, addr: Any, exc: BaseException) -> None:
        captured = _Captured()
        super().handle_error(req, captured, addr, exc)
        status_line = re.match(rb"HTTP/1\.1 (\d{3}) ([^\r\n]*)", captured.data)
        if status_line is None:
            return
        try:
            util.write_nonblock(client, json_error(int(status_line.group(1)), status_line.group(2).decode("latin-1")))
        except Exception:  # the client went away: nothing to tell it (gunicorn does the same)
            self.log.debug("Failed to send error message.")
