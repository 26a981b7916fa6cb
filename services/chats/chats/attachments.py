"""Attached documents follow the documents service: a deleted document leaves every message and every
thread's Documents tab it was in; a renamed one shows its new name. Which documents may be attached at
all (the account's, in client-visible folders) is checked when a message is posted (service.py asks
documents). Plain Python over the session.
"""
from __future__ import annotations

import uuid

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from chats import threads
from chats.models import Message, ThreadDocument
from shared.contracts.chats import MESSAGE_UPDATED
from shared.events import EventLog

# What a client may see of a folder for its documents to be attached in a chat.
CLIENT_VISIBLE = ("view", "view_edit")


def forget_document(session: Session, firm_id: uuid.UUID, document_id: uuid.UUID, log: EventLog) -> list[Message]:
    """The document was deleted: out of the Documents tabs, and out of each message that carried it
    (`message_updated` for each, so open threads drop it at once)."""
    message_ids = list(session.scalars(
        delete(ThreadDocument).where(ThreadDocument.firm_id == firm_id, ThreadDocument.document_id == document_id)
        .returning(ThreadDocument.message_id)))
    if not message_ids:
        return []
    messages = list(session.scalars(select(Message).where(Message.id.in_(set(message_ids)))
                                    .order_by(Message.created_at, Message.id).with_for_update()))
    for message in messages:
        message.document_ids = [d for d in message.document_ids if d != document_id]
    session.flush()
    for message in messages:
        log.add(MESSAGE_UPDATED, {"thread_id": str(message.thread_id), "message": threads.message_event(message)},
                firm_id=message.firm_id, account_id=message.account_id)
    return messages


def rename_document(session: Session, firm_id: uuid.UUID, document_id: uuid.UUID, name: str) -> int:
    """The document's new name in every Documents tab it is on."""
    return session.execute(update(ThreadDocument).where(ThreadDocument.firm_id == firm_id,
                                                        ThreadDocument.document_id == document_id)
                           .values(name=name[:255])).rowcount
