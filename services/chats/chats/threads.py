"""Threads: plain domain code, no nameko. Each function gets the caller's session (its transaction)."""
from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from chats.models import Thread
from shared.errors import NotFound, ValidationFailed


def clean_subject(subject: str) -> str:
    """The subject as stored: without surrounding white space, and not blank."""
    subject = subject.strip()
    if not subject:
        raise ValidationFailed("A thread needs a subject.", {"subject": ["Must not be blank."]})
    return subject


def start(session: Session, firm_id: uuid.UUID, account_id: uuid.UUID, subject: str,
          created_by: uuid.UUID) -> Thread:
    """A new thread of `firm_id` on one of its accounts. Who may start one (crm's rights and
    assignments) is the chats issue's to decide; today the entrypoint admits any staff member."""
    thread = Thread(firm_id=firm_id, account_id=account_id, subject=clean_subject(subject), created_by=created_by)
    session.add(thread)
    session.flush()  # the id and created_at, for the reply and the event
    return thread


def get(session: Session, firm_id: uuid.UUID, thread_id: uuid.UUID) -> Thread:
    """A thread of this firm; another firm's is as unknown as one that does not exist."""
    thread = session.get(Thread, thread_id)
    if thread is None or thread.firm_id != firm_id:
        raise NotFound("No such thread.")
    return thread
