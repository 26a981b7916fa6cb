"""The reminder scheduler's one round: claim the due threads (SKIP LOCKED, so instances running side by
side never take the same row), decide each (reminders.advance) and record a `reminder_sent` event for
those that go out. Every instance of the service runs it on a timer; tests call it with their own time.
"""
from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from chats import reminders, threads
from chats.models import Message
from shared.contracts.chats import REMINDER_SENT
from shared.errors import NotFound
from shared.events import EventLog

log = logging.getLogger(__name__)

# Threads one round claims; the rest wait for the next round (a tick or two later).
BATCH = 100


def run_once(session: Session, now: datetime, audience_of: Callable[[uuid.UUID, uuid.UUID], threads.Audience],
             events: EventLog, limit: int | None = None) -> int:
    """One round at `now`: how many reminders it decided to send (their events are in `events`)."""
    sent = 0
    for thread in reminders.claim_due(session, now, limit or BATCH):
        if not reminders.advance(session, thread, now):
            continue
        message = session.scalar(select(Message).where(Message.thread_id == thread.id, Message.author_kind == "staff")
                                 .order_by(Message.created_at.desc(), Message.id.desc()).limit(1))
        try:
            audience = audience_of(thread.firm_id, thread.account_id)
        except NotFound:
            log.warning("thread %s: its account is gone, no reminder", thread.id)
            thread.reminder_next_at = None
            continue
        if message is None or not audience.clients:
            log.info("thread %s: nobody to remind (no staff message or no activated client)", thread.id)
            continue
        events.add(REMINDER_SENT, {"thread": threads.thread_event(thread), "message": threads.message_event(message),
                                   "number": thread.reminders_sent, "count": thread.reminder_count,
                                   "client_email": audience.client_email()},
                   firm_id=thread.firm_id, account_id=thread.account_id)
        sent += 1
    session.flush()
    return sent
