"""The activity feed: every event of crm, links and documents, as one line a firm's staff can read.

`describe` turns an event envelope (shared.events: `{id, type, source, firm_id, account_id,
occurred_at, actor, request_id, data}`) into an `Entry`: the firm and account are the envelope's,
the actor is its user (staff or client), and SUMMARIES says what each known (source, type) reads
as. An event type missing from the table is still recorded, under a summary made from its name;
`describe` never raises on a payload's shape, so an odd event cannot keep coming back to a handler
that fails on it. A message that is no envelope (no firm) is not described.

Plain Python over a SQLAlchemy session, no nameko; the caller commits.
"""
from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from notifications import billing_notices, client_request_notices, share_notices, signature_notices
from notifications.models import Activity, _now
from shared.paging import newest_first

log = logging.getLogger(__name__)

SUMMARY_MAX = 500
# Actors the feed names: people. A link or the system did nothing a person can be credited with.
USER_ACTORS = ("staff", "client")

# A str.format template over the event's data ("{account[name]}"), or a function of the data.
Summary = str | Callable[[dict[str, Any]], str]


@dataclass(frozen=True)
class Entry:
    """One feed line, as `record` stores it."""

    id: uuid.UUID
    source: str
    event_type: str
    firm_id: uuid.UUID
    account_id: uuid.UUID | None
    actor_id: uuid.UUID | None
    summary: str
    data: dict[str, Any]
    occurred_at: datetime


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None


def _humanize(name: str) -> str:
    return name.replace("_", " ").strip().capitalize()


def _fields(changed: Any) -> str:
    names = [_humanize(str(name)).lower() for name in changed or []]
    return f" ({', '.join(names)})" if names else ""


def _person(contact: dict[str, Any]) -> str:
    return " ".join(f"{contact.get('first_name') or ''} {contact.get('last_name') or ''}".split())


def _account_updated(data: dict[str, Any]) -> str:
    name, changed = data["account"]["name"], data.get("changed") or []
    if changed == ["name"]:
        return f"Account renamed to “{name}”"
    return f"Account “{name}” updated{_fields(changed)}"


def _account_team_assigned(data: dict[str, Any]) -> str:
    count = len(data["user_ids"])
    if count == 0:
        return "Account team cleared"
    return f"Account team set to {count} member{'s' if count != 1 else ''}"


def _job_updated(data: dict[str, Any]) -> str:
    job, changed = data["job"], data.get("changed") or []
    if changed == ["status"]:
        return f"Job “{job['name']}” moved to “{job['status']}”"
    return f"Job “{job['name']}” updated{_fields(changed)}"


def _setting_change(change: dict[str, Any]) -> str:
    name = _humanize(change["setting"]).lower()
    old, new = change.get("old"), change.get("new")
    if isinstance(old, bool) and isinstance(new, bool):
        return f"{name} {'on' if new else 'off'}"
    return f"{name} changed"


def _portal_settings_changed(data: dict[str, Any]) -> str:
    return "Portal settings changed: " + ", ".join(_setting_change(c) for c in data["changes"])


def _link(verb: str, reasons: Mapping[str, str] | None = None) -> Callable[[dict[str, Any]], str]:
    def summary(data: dict[str, Any]) -> str:
        reason = (reasons or {}).get(data.get("reason"), "")
        return f"{_humanize(data['link']['kind'])} link {verb}{reason}"

    return summary


SUMMARIES: dict[tuple[str, str], Summary] = {
    ("crm", "firm_created"): "Firm “{firm[name]}” created by {owner[name]}",
    ("crm", "user_activated"): "{user[name]} accepted the invitation",
    ("crm", "team_member_invited"): lambda data: f"{data['member']['name']} invited to the team"
    + (f" as {data['member']['role']}" if data["member"].get("role") else ""),
    ("crm", "team_member_updated"): "Team member {member[name]} updated",
    ("crm", "team_member_removed"): "{member[name]} removed from the team",
    ("crm", "account_created"): "Account “{account[name]}” created",
    ("crm", "account_updated"): _account_updated,
    ("crm", "account_deleted"): "Account “{account[name]}” deleted",
    ("crm", "account_team_assigned"): _account_team_assigned,
    ("crm", "contact_created"): lambda data: f"Contact “{_person(data['contact'])}” created",
    ("crm", "contact_updated"): lambda data: f"Contact “{_person(data['contact'])}” updated",
    ("crm", "contact_linked"): "Contact linked to the account",
    ("crm", "contact_unlinked"): "Contact unlinked from the account",
    ("crm", "portal_invitation_requested"): "Portal invitation sent to {email}",
    ("crm", "portal_access_granted"): "Portal access granted to {email}",
    ("crm", "portal_access_revoked"): "Portal access removed for {email}",
    ("crm", "notification_categories_changed"): "Notification settings changed for {email}",
    ("crm", "job_created"): "Job “{job[name]}” created ({job[status]})",
    ("crm", "job_updated"): _job_updated,
    ("crm", "portal_settings_changed"): _portal_settings_changed,
    ("documents", "folder_created"): "Folder “{folder[name]}” created",
    ("documents", "document_created"): "Document “{document[name]}” uploaded",
    ("documents", "document_updated"): "Document “{document[name]}” changed",
    ("documents", "document_deleted"): "Document “{document[name]}” deleted",
    ("documents", "file_request_created"): "Files requested: “{file_request[message]}”",
    ("documents", "file_request_sent"): lambda data: f"File request sent to {', '.join(data['recipients'])}",
    ("documents", "file_request_updated"): "File request message changed",
    ("documents", "file_request_revoked"): "File request revoked",
    ("documents", "file_request_files_received"):
        lambda data: f"{len(data['documents'])} file(s) received through a file request",
    ("documents", "file_request_done"): "The uploader is done uploading",
    ("documents", "client_done_uploading"): "{user[name]} is done uploading",
    ("documents", "document_infected"): lambda data: f"Document “{data['document']['name']}” quarantined: "
    + (data.get("signature") or "malware found"),
    ("documents", "document_too_large_to_scan"): "Document “{document[name]}” quarantined: too large to scan",
    ("links", "link_issued"): _link("issued"),
    ("links", "link_revoked"): _link("revoked", {"replaced": " (a new one replaced it)",
                                                 "target_revoked": " (no longer needed)"}),
    ("links", "link_redeemed"): _link("used"),
    **client_request_notices.ACTIVITY,  # client requests (notifications/client_request_notices.py)
    **share_notices.ACTIVITY,  # shares and approvals (notifications/share_notices.py)
    **billing_notices.ACTIVITY,  # invoices, payments, refunds (notifications/billing_notices.py)
    **signature_notices.ACTIVITY,  # signature requests (notifications/signature_notices.py)
}


def summarize(source: str, event_type: str, data: dict[str, Any]) -> str:
    """The table's line for this event, or one made from its type when there is none or the data
    lacks what the line needs. One line, at most SUMMARY_MAX characters."""
    rule = SUMMARIES.get((source, event_type))
    text = None
    if rule is not None:
        try:
            text = rule(data) if callable(rule) else rule.format_map(data)
        except (KeyError, IndexError, TypeError, ValueError, AttributeError):
            log.warning("event %s.%s lacks what its summary needs; recorded with a generic one", source, event_type)
    text = " ".join((text or _humanize(event_type) or "Event").split())
    return text if len(text) <= SUMMARY_MAX else text[: SUMMARY_MAX - 1] + "…"


def _occurred_at(value: Any) -> datetime:
    try:
        when = datetime.fromisoformat(str(value))
    except ValueError:
        return _now()
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def describe(event: Mapping[str, Any]) -> Entry | None:
    """The feed entry of one event envelope, or None when it names no firm (or has no id)."""
    event_id, firm_id = _uuid(event.get("id")), _uuid(event.get("firm_id"))
    if event_id is None or firm_id is None:
        return None
    data = event.get("data")
    data = data if isinstance(data, dict) else {}
    source, event_type = str(event.get("source") or ""), str(event.get("type") or "")
    actor = event.get("actor")
    actor_id = _uuid(actor.get("id")) if isinstance(actor, Mapping) and actor.get("kind") in USER_ACTORS else None
    return Entry(event_id, source[:50], event_type[:100], firm_id, _uuid(event.get("account_id")), actor_id,
                 summarize(source, event_type, data), data, _occurred_at(event.get("occurred_at")))


def record(db: Session, entry: Entry) -> None:
    """Add this entry (its id is the event's: a second one is ignored)."""
    db.execute(
        insert(Activity).values(
            id=entry.id, firm_id=entry.firm_id, account_id=entry.account_id, actor_user_id=entry.actor_id,
            event_type=entry.event_type, source=entry.source, summary=entry.summary, data=entry.data,
            occurred_at=entry.occurred_at, created_at=_now(),
        ).on_conflict_do_nothing(index_elements=[Activity.id])
    )


def list_activity(db: Session, firm_id: uuid.UUID, account_id: uuid.UUID | None, limit: int, cursor: str | None,
                  visible_accounts: Collection[uuid.UUID] | None = None) -> tuple[list[Activity], str | None]:
    """One page of the firm's feed (one account's, if given), newest recorded first.

    `visible_accounts`: the caller sees only these accounts (None: all of them). Such a caller gets
    only entries of those accounts, none of the firm-wide ones: an entry without an account may still
    be about someone he may not see (a contact linked only to a hidden account), so it fails closed.
    An account he may not see, like another firm's, simply has no entries.
    """
    query = select(Activity).where(Activity.firm_id == firm_id)
    if account_id is not None:
        query = query.where(Activity.account_id == account_id)
    if visible_accounts is not None:
        query = query.where(Activity.account_id.in_(list(visible_accounts)))
    return newest_first(db, query, Activity, limit, cursor)
