"""What the chats service's events do here: client emails that a message waits (and reminders), and the
staff's Inbox+ items `chat_message` (one per thread, on top again with each client message), `mention`
(one per message that names a member) and `task_completed` (one per task a client ticked).

`ChatNotices` is a mixin of NotificationsService: its handlers use the service's queueing, crm proxy and
audience decision (audience.decide, category `chats_tasks`). The inbox updates below are plain Python.
"""
from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy.orm import Session

from notifications import audience
from notifications.inbox import _clip, _in_order, _item, _touched
from notifications.models import InboxItem
from shared.contracts.chats import MESSAGE_POSTED, REMINDER_SENT, TASK_UPDATED
from shared.entrypoints import event_handler
from shared.errors import NotFound

log = logging.getLogger(__name__)

CHAT_MESSAGE, MENTION, TASK_COMPLETED = "chat_message", "mention", "task_completed"
CATEGORY = "chats_tasks"
EXCERPT = 200


def _thread_label(thread: Mapping[str, Any]) -> str:
    return f"“{_clip(str(thread.get('subject') or ''), 80)}”"


def client_message(db: Session, user_ids: Iterable[uuid.UUID], firm_id: uuid.UUID, account_id: uuid.UUID,
                   thread: Mapping[str, Any], message: Mapping[str, Any]) -> list[InboxItem]:
    """A client wrote: each recipient's one item for the thread counts the client messages, shows the latest,
    and goes to the top, unread."""
    items = [_item(db, firm_id, user_id, account_id, CHAT_MESSAGE, uuid.UUID(str(thread["id"])))
             for user_id in _in_order(user_ids)]
    author = message.get("author") or {}
    for item in items:
        item.count += 1
        item.data = {"thread": {"id": str(thread["id"]), "subject": thread.get("subject")},
                     "message_id": str(message["id"]), "author": {"id": str(author.get("id")),
                                                                  "name": author.get("name")}}
        _touched(item, f"{author.get('name') or 'A client'} wrote in {_thread_label(thread)}",
                 _clip(str(message.get("body") or ""), EXCERPT) or "Attached documents.")
    return items


def mentioned(db: Session, user_ids: Iterable[uuid.UUID], firm_id: uuid.UUID, account_id: uuid.UUID,
              thread: Mapping[str, Any], message: Mapping[str, Any]) -> list[InboxItem]:
    """A staff message names team members: one item each, about that message."""
    items = [_item(db, firm_id, user_id, account_id, MENTION, uuid.UUID(str(message["id"])))
             for user_id in _in_order(user_ids)]
    author = message.get("author") or {}
    for item in items:
        item.count = 1
        item.data = {"thread": {"id": str(thread["id"]), "subject": thread.get("subject")},
                     "message_id": str(message["id"])}
        _touched(item, f"{author.get('name') or 'A colleague'} mentioned you in {_thread_label(thread)}",
                 _clip(str(message.get("body") or ""), EXCERPT))
    return items


def task_completed(db: Session, user_ids: Iterable[uuid.UUID], firm_id: uuid.UUID, account_id: uuid.UUID,
                   thread: Mapping[str, Any], task: Mapping[str, Any], progress: Mapping[str, Any]) -> list[InboxItem]:
    items = [_item(db, firm_id, user_id, account_id, TASK_COMPLETED, uuid.UUID(str(task["id"])))
             for user_id in _in_order(user_ids)]
    for item in items:
        item.count = int(progress.get("done") or 0)
        item.data = {"thread": {"id": str(thread["id"]), "subject": thread.get("subject")},
                     "task": {"id": str(task["id"]), "title": task.get("title")}, "progress": dict(progress)}
        _touched(item, f"Task done: {_clip(str(task.get('title') or ''), 120)}",
                 f"In {_thread_label(thread)}: {progress.get('done')} of {progress.get('total')} tasks done.")
    return items


class ChatNotices:
    """Handlers of chats' events (mixed into NotificationsService)."""

    # NotificationsService provides these, and _staff_to_tell, _suppress and _queue_or_log.
    crm: Any
    db: Any
    settings: Any
    _staff_to_tell: Any
    _suppress: Any
    _queue_or_log: Any

    def _chat_emails(self, event: dict, client_email: Mapping[str, Any], thread: Mapping[str, Any],
                     message: Mapping[str, Any], reminder: int | None) -> None:
        """Email each activated client of the account that a message waits, as audience.decide allows
        (NOTIFY and `chats_tasks`); with the content only when the firm turned `chat_email_content` on."""
        firm_id, account_id = event["firm_id"], event["account_id"]
        author = message.get("author") or {}
        context = {"firm_name": client_email["firm_name"], "account_name": client_email["account_name"],
                   "thread_subject": thread["subject"], "author_name": author.get("name") or "",
                   "content": message.get("body") if client_email.get("email_content") else None,
                   "portal_url": f"{self.settings.base_url}/portal", "reminder": reminder}
        for recipient in client_email.get("recipients") or []:
            address = str(recipient["email"]).strip().lower()
            try:
                preferences = self.crm.client_email_preferences(firm_id=firm_id, account_id=account_id,
                                                                email=address)
            except NotFound:
                log.warning("chat thread %s: account %s is gone, no email sent", thread["id"], account_id)
                return
            decision = audience.decide(preferences, CATEGORY)
            if not decision.send:
                self._suppress(firm_id, address, CHAT_MESSAGE, context, decision.reason or "suppressed")
                continue
            self._queue_or_log({"firm_id": firm_id, "to": address, "template": CHAT_MESSAGE, "context": {
                **context, "recipient_name": recipient.get("first_name") or None}})

    @event_handler(MESSAGE_POSTED)
    def on_chat_message_posted(self, event: dict) -> None:
        """A staff message: the clients' emails and the mentioned members' items. A client's: the thread's
        item of each staff member to tell."""
        data = event["data"]
        thread, message = data["thread"], data["message"]
        firm_id, account_id = uuid.UUID(event["firm_id"]), uuid.UUID(event["account_id"])
        if message["author"]["kind"] == "client":
            client_message(self.db.session, self._staff_to_tell(event, []), firm_id, account_id, thread, message)
            return
        if data.get("client_email"):
            self._chat_emails(event, data["client_email"], thread, message, None)
        mentions = [uuid.UUID(str(m["id"])) for m in message.get("mentions") or []]
        if mentions:
            mentioned(self.db.session, mentions, firm_id, account_id, thread, message)

    @event_handler(REMINDER_SENT)
    def on_chat_reminder(self, event: dict) -> None:
        data = event["data"]
        self._chat_emails(event, data["client_email"], data["thread"], data["message"], data["number"])

    @event_handler(TASK_UPDATED)
    def on_chat_task_updated(self, event: dict) -> None:
        """A client ticked a task: `task_completed` for the staff to tell."""
        data = event["data"]
        if data["change"] != "completed" or (event.get("actor") or {}).get("kind") != "client":
            return
        task_completed(self.db.session, self._staff_to_tell(event, []), uuid.UUID(event["firm_id"]),
                       uuid.UUID(event["account_id"]), data["thread"], data["task"], data["progress"])
