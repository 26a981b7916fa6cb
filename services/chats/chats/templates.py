"""Chat templates: a subject, a body, tasks and reminders a staff member picks when he starts a thread
(never for a reply). Their text may hold shortcodes, filled in for the account the thread is for:

    [ACCOUNT_NAME] [CONTACT_FIRST_NAME] [CONTACT_LAST_NAME] [FIRM_NAME] [CURRENT_DATE] [CURRENT_YEAR] [LAST_YEAR]

A `[WORD]` in capitals that is none of these is refused when the template is saved (422 naming it), so a
misspelt one never reaches a client. A Markdown link's text (`[FAQ](https://...)`) is no shortcode.

Plain Python over the session.
"""
from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from chats.models import Template
from shared.contracts.chats import SHORTCODES
from shared.errors import NotFound, ValidationFailed
from shared.paging import newest_first

NO_SUCH_TEMPLATE = "No such chat template."
# Capitals, digits and underscores in brackets, not followed by `(` (a link's text).
_SHORTCODE = re.compile(r"\[([A-Z][A-Z0-9_]*)\](?!\()")


def unknown_shortcodes(text: str) -> list[str]:
    """The shortcodes in `text` that are not known, each once, as written: `[CLIENT_NAME]`."""
    return list(dict.fromkeys(f"[{name}]" for name in _SHORTCODE.findall(text or "") if name not in SHORTCODES))


def check_shortcodes(fields: Mapping[str, Any]) -> None:
    """ValidationFailed naming each unknown shortcode under the field it is in."""
    errors = {}
    for name in ("subject", "body"):
        unknown = unknown_shortcodes(fields.get(name) or "")
        if unknown:
            errors[name] = [f"Unknown shortcode {code}; known: {', '.join(f'[{s}]' for s in SHORTCODES)}."
                            for code in unknown]
    if errors:
        raise ValidationFailed("The template uses unknown shortcodes: " + ", ".join(
            code for name in errors for code in unknown_shortcodes(fields.get(name) or "")) + ".", errors)


def shortcode_values(account_name: str, firm_name: str, contact: Mapping[str, Any] | None,
                     now: datetime) -> dict[str, str]:
    """What each shortcode stands for on this account today. The contact is the account's first activated
    client (the thread's recipient); without one the contact's names are empty."""
    contact = contact or {}
    return {"ACCOUNT_NAME": account_name, "FIRM_NAME": firm_name,
            "CONTACT_FIRST_NAME": contact.get("first_name") or "", "CONTACT_LAST_NAME": contact.get("last_name") or "",
            "CURRENT_DATE": now.date().isoformat(), "CURRENT_YEAR": str(now.year), "LAST_YEAR": str(now.year - 1)}


def fill(text: str, values: Mapping[str, str]) -> str:
    """`text` with each known shortcode replaced; anything else is left as written."""
    return _SHORTCODE.sub(lambda m: values.get(m.group(1), m.group(0)), text)


def _clean(data: dict[str, Any]) -> dict[str, Any]:
    for name in ("name", "subject", "body"):
        if name in data:
            data[name] = data[name].strip()
            if not data[name]:
                raise ValidationFailed(f"The template's {name} is blank.", {name: ["Must not be blank."]})
    if "tasks" in data:
        data["tasks"] = [{"title": t["title"].strip()} for t in data["tasks"] if t["title"].strip()]
    return data


def create(session: Session, firm_id: uuid.UUID, data: dict[str, Any], now: datetime) -> Template:
    data = _clean(dict(data))
    check_shortcodes(data)
    template = Template(firm_id=firm_id, name=data["name"], subject=data["subject"], body=data["body"],
                        tasks=data.get("tasks") or [], reminders=data.get("reminders"), created_at=now,
                        updated_at=now)
    session.add(template)
    session.flush()
    return template


def get(session: Session, firm_id: uuid.UUID, template_id: uuid.UUID, *, lock: bool = False) -> Template:
    query = select(Template).where(Template.id == template_id, Template.firm_id == firm_id)
    template = session.scalar(query.with_for_update() if lock else query)
    if template is None:
        raise NotFound(NO_SUCH_TEMPLATE)
    return template


def update(session: Session, template: Template, data: dict[str, Any], now: datetime) -> Template:
    data = _clean(dict(data))
    check_shortcodes(data)
    for name, value in data.items():
        setattr(template, name, value)
    template.updated_at = now
    session.flush()
    return template


def delete(session: Session, template: Template) -> None:
    session.delete(template)
    session.flush()


def list_templates(session: Session, firm_id: uuid.UUID, limit: int, cursor: str | None
                   ) -> tuple[list[Template], str | None]:
    return newest_first(session, select(Template).where(Template.firm_id == firm_id), Template, limit, cursor)


def compose(template: Template | None, data: Mapping[str, Any], audience: Any, now: datetime) -> dict[str, Any]:
    """A new thread's subject, body, tasks and reminders: what the request gives, else the template's;
    shortcodes filled in for the account (`audience`: threads.Audience). 422 when no subject or body is
    left (no template, and none given)."""
    values = shortcode_values(audience.account_name, audience.firm_name,
                              audience.clients[0] if audience.clients else None, now)
    subject = data.get("subject") or (template.subject if template else None)
    body = data.get("body") or (template.body if template else None)
    missing = {name: ["Required unless a template gives it."] for name, value in (("subject", subject),
                                                                                 ("body", body)) if not value}
    if missing:
        raise ValidationFailed("A thread needs a subject and a message.", missing)
    tasks = data.get("tasks")
    if tasks is None:
        tasks = template.tasks if template else []
    reminders = data.get("reminders") or (template.reminders if template else None)
    return {"subject": fill(subject, values)[:200], "body": fill(body, values),
            "tasks": [fill(t["title"], values) for t in tasks], "reminders": reminders}
