"""Reading the emails the run's SMTP server received."""
from __future__ import annotations

import re
from collections.abc import Callable
from email.message import EmailMessage


def link_in(message: EmailMessage) -> str:
    """The `/p/{token}` link an email carries (an invitation, a file request)."""
    text = message.get_body(preferencelist=("plain",)).get_content()
    return re.search(r"https?://\S+/p/[A-Za-z0-9_-]+", text).group(0)


def token_of(link: str) -> str:
    return link.rsplit("/", 1)[1]


def to(address: str) -> Callable[[EmailMessage], bool]:
    return lambda message: address in message["To"]
