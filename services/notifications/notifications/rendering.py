"""Emails from Jinja2 templates: a subject, a plain-text part and an HTML part.

Each email `<name>` has three files in templates/: `<name>.subject.txt`, `<name>.txt` and
`<name>.html`; the bodies extend layout/base.{txt,html}, which shows the "activate your account"
banner (partials/activate_banner.*) when the context says `needs_activation`. HTML is
autoescaped, text is not (it is never interpreted). A variable a template uses but the
context lacks is an error, never an empty string in a sent email.

Plain Python, no nameko: the service and the tests call it directly.
"""
from __future__ import annotations

import base64
import re
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any, NamedTuple

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

TEMPLATE_DIR = Path(__file__).parent / "templates"
# Every layout variable a caller may leave out, with the value it then has.
LAYOUT_DEFAULTS: dict[str, Any] = {"needs_activation": False, "activation_url": None, "recipient_name": None}

_NAME = re.compile(r"[a-z][a-z0-9_]*")

_env = Environment(
    loader=FileSystemLoader(TEMPLATE_DIR),
    autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False, default=False),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


class RenderedEmail(NamedTuple):
    subject: str
    text: str
    html: str


def template_names() -> list[str]:
    """Every email that has a subject template (layouts and partials are not emails)."""
    return sorted(p.name.removesuffix(".subject.txt") for p in TEMPLATE_DIR.glob("*.subject.txt"))


def render_subject(template: str, context: dict[str, Any]) -> str:
    """The subject line alone (what a suppressed email is recorded with)."""
    if not _NAME.fullmatch(template):
        raise ValueError(f"not an email template name: {template!r}")
    # Headers are one line: whatever a variable held, newlines cannot inject another header.
    return " ".join(_env.get_template(f"{template}.subject.txt").render({**LAYOUT_DEFAULTS, **context}).split())


def render(template: str, context: dict[str, Any]) -> RenderedEmail:
    """The subject (one line), text and HTML of email `template` with `context`.

    Raises jinja2.TemplateNotFound for an unknown email and jinja2.UndefinedError when the
    context lacks a variable the templates use.
    """
    variables = {**LAYOUT_DEFAULTS, **context}
    variables["subject"] = subject = render_subject(template, context)
    text = _env.get_template(f"{template}.txt").render(variables).strip() + "\n"
    html = _env.get_template(f"{template}.html").render(variables).strip() + "\n"
    return RenderedEmail(subject, text, html)


def build_message(rendered: RenderedEmail, *, mail_from: str, to: str, message_id: str,
                  attachments: list[dict[str, Any]] | None = None) -> EmailMessage:
    """A multipart/alternative message: the text part first, the HTML part preferred by mail clients.
    `attachments` (`{filename, content_type, content_base64}`, an invoice's PDF) make it multipart/mixed."""
    message = EmailMessage()
    message["From"] = mail_from
    message["To"] = to
    message["Subject"] = rendered.subject
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Message-ID"] = message_id
    # RFC 3834: tells auto-responders (vacation replies) not to answer a machine.
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(rendered.text)
    message.add_alternative(rendered.html, subtype="html")
    for attachment in attachments or []:
        maintype, subtype = attachment["content_type"].split("/", 1)
        message.add_attachment(base64.b64decode(attachment["content_base64"]), maintype=maintype, subtype=subtype,
                               filename=attachment["filename"])
    return message
