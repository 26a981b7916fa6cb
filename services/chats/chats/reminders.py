"""Reminders about a thread's last message: when the next one is due, and when they stop.

The article's rules, in one place:
- a thread's reminders are `{enabled, days, count}` (3 days, 1 reminder by default); the first is due
  `days` after the last staff message, each next one `days` after the one before, at most `count`;
- with client tasks, they stop once every task is done and every staff message read;
- without tasks, they stop once the client replied to the last message;
- an archived thread gets none; unarchiving starts them over as if the last message were new, and so
  does a new staff message.
Whether one is still wanted is decided again when it falls due (`stop_reason` on fresh facts), so a
rule met between two reminders is never missed. After downtime a due thread gets one reminder and the
next is `days` after it (never one for each missed interval).

Plain Python; `facts` reads the session.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from chats.models import Message, Task, Thread

DISABLED, ARCHIVED, ALL_SENT, NO_MESSAGE = "disabled", "archived", "all_sent", "no_message"
TASKS_DONE_AND_READ, CLIENT_REPLIED = "tasks_done_and_read", "client_replied"


@dataclass(frozen=True)
class Facts:
    """What the stop rules look at."""

    enabled: bool
    archived: bool
    sent: int
    count: int
    last_message_by: str | None
    tasks_total: int
    tasks_done: int
    unread_by_client: int


def stop_reason(facts: Facts) -> str | None:
    """Why no (further) reminder goes out, or None while one is wanted."""
    if not facts.enabled:
        return DISABLED
    if facts.archived:
        return ARCHIVED
    if facts.sent >= facts.count:
        return ALL_SENT
    if facts.last_message_by is None:
        return NO_MESSAGE
    if facts.tasks_total:
        if facts.tasks_done == facts.tasks_total and facts.unread_by_client == 0:
            return TASKS_DONE_AND_READ
        return None
    if facts.last_message_by == "client":
        return CLIENT_REPLIED
    return None


def facts(session: Session, thread: Thread) -> Facts:
    done, total = session.execute(
        select(func.count().filter(Task.done.is_(True)), func.count()).where(Task.thread_id == thread.id)).one()
    unread = session.scalar(select(func.count()).where(Message.thread_id == thread.id, Message.author_kind == "staff",
                                                       Message.read_at.is_(None)))
    return Facts(enabled=thread.reminders_enabled, archived=thread.archived_at is not None,
                 sent=thread.reminders_sent, count=thread.reminder_count, last_message_by=thread.last_message_by,
                 tasks_total=total, tasks_done=done, unread_by_client=unread or 0)


def restart(thread: Thread, now: datetime) -> None:
    """As if the last message were new: none sent yet, the first due `days` from now."""
    thread.reminders_sent = 0
    wanted = thread.reminders_enabled and thread.archived_at is None
    thread.reminder_next_at = now + timedelta(days=thread.reminder_days) if wanted else None


def configure(thread: Thread, settings: dict[str, Any], now: datetime) -> None:
    """New settings `{enabled, days, count}`: counted from now, none sent yet."""
    thread.reminders_enabled = bool(settings["enabled"])
    thread.reminder_days = int(settings.get("days") or thread.reminder_days or 3)
    thread.reminder_count = int(settings.get("count") or thread.reminder_count or 1)
    restart(thread, now)


def settle(thread: Thread, current: Facts) -> None:
    """A rule is met: no reminder is due any more (until a new staff message or unarchiving)."""
    if thread.reminder_next_at is not None and stop_reason(current):
        thread.reminder_next_at = None


def claim_due(session: Session, now: datetime, limit: int) -> list[Thread]:
    """Up to `limit` threads whose reminder is due, locked for this transaction. SKIP LOCKED: another
    instance's scheduler running at the same moment claims other rows, never these."""
    return list(session.scalars(
        select(Thread).where(Thread.reminder_next_at.is_not(None), Thread.reminder_next_at <= now)
        .order_by(Thread.reminder_next_at, Thread.id).limit(limit).with_for_update(skip_locked=True)))


def advance(session: Session, thread: Thread, now: datetime) -> bool:
    """A claimed, due thread: True when a reminder goes out now (counted, the next scheduled `days` from
    now, however late this one is); False when a stop rule is met (nothing more is due)."""
    if stop_reason(facts(session, thread)):
        thread.reminder_next_at = None
        return False
    thread.reminders_sent += 1
    more = thread.reminders_sent < thread.reminder_count
    thread.reminder_next_at = now + timedelta(days=thread.reminder_days) if more else None
    return True
