"""What each broker event becomes on a stream, and who may see which part of it. Plain code, no I/O.

An event concerns one account of one firm (its envelope says which). Staff see what the API shows them;
client users see their account's threads, messages and tasks without what is the firm's own business
(whom the firm emails, reminder settings, linked jobs). Inbox+ items are one staff member's own.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shared.contracts import chats, crm

# SSE event names, in the order docs/realtime.md lists them.
MESSAGE, MESSAGE_UPDATED, READ, TASK, THREAD, INBOX = "message", "message_updated", "read", "task", "thread", "inbox"
EVENT_NAMES = (MESSAGE, MESSAGE_UPDATED, READ, TASK, THREAD, INBOX)

# notifications' declared event for Inbox+ items (shared.contracts.notifications.INBOX_ITEM_CHANGED).
INBOX_ITEM_CHANGED = ("notifications", "inbox_item_changed")

# crm events after which the streams of the firm are checked again at once (a session ended with a
# removed member; a client's LOGIN turned off; rights, roles or assignments changed).
ACCESS_EVENTS = frozenset(event.name for event in (
    crm.TEAM_MEMBER_UPDATED, crm.TEAM_MEMBER_REMOVED, crm.ACCOUNT_TEAM_ASSIGNED, crm.ACCOUNT_DELETED,
    crm.PORTAL_ACCESS_REVOKED, crm.CONTACT_UNLINKED,
))

# Which events the stream process binds its queue to, per emitting service.
BINDINGS: dict[str, tuple[str, ...]] = {
    "chats": tuple(event.name for event in (chats.MESSAGE_POSTED, chats.MESSAGE_UPDATED, chats.MESSAGES_READ,
                                            chats.TASK_UPDATED, chats.THREAD_STARTED, chats.THREAD_UPDATED)),
    "notifications": (INBOX_ITEM_CHANGED[1],),
    "crm": tuple(sorted(ACCESS_EVENTS)),
}

# What a client user sees of a thread: not its linked jobs.
_CLIENT_THREAD = ("id", "account_id", "subject", "archived", "last_message_at", "created_at")
# Thread changes a client user hears of (reminder settings and job links are the firm's).
_CLIENT_THREAD_CHANGES = ("archived", "unarchived")


@dataclass(frozen=True)
class Delivery:
    """One event as streams carry it: `staff`/`client` are the payloads each kind receives (None: that
    kind receives nothing); `user_id` limits it to one user (his Inbox+)."""

    id: str
    event: str
    firm_id: str
    account_id: str | None
    staff: dict[str, Any] | None
    client: dict[str, Any] | None
    user_id: str | None = None

    def payload_for(self, kind: str) -> dict[str, Any] | None:
        return self.client if kind == "client" else self.staff


def _client_thread(thread: dict[str, Any]) -> dict[str, Any]:
    return {key: thread.get(key) for key in _CLIENT_THREAD}


def translate(envelope: dict[str, Any]) -> Delivery | None:
    """The delivery of one event envelope, or None when streams carry nothing of it."""
    source, name, data = envelope.get("source"), envelope.get("type"), envelope.get("data") or {}
    firm_id, account_id = envelope.get("firm_id"), envelope.get("account_id")
    if not firm_id:
        return None

    def make(event: str, staff: dict | None, client: dict | None, user_id: str | None = None) -> Delivery:
        return Delivery(str(envelope.get("id")), event, str(firm_id), str(account_id) if account_id else None,
                        staff, client, user_id)

    if (source, name) == INBOX_ITEM_CHANGED:
        return make(INBOX, data.get("item"), None, str(data.get("user_id")))
    if source != "chats" or not account_id:
        return None
    if name == chats.MESSAGE_POSTED.name:
        thread, message = data["thread"], data["message"]
        return make(MESSAGE, {"thread": thread, "message": message},
                    {"thread": _client_thread(thread), "message": message})
    if name == chats.MESSAGE_UPDATED.name:
        payload = {"thread_id": data["thread_id"], "message": data["message"]}
        return make(MESSAGE_UPDATED, payload, payload)
    if name == chats.MESSAGES_READ.name:
        return make(READ, data, data)
    if name == chats.TASK_UPDATED.name:
        staff = {"thread": data["thread"], "task": data["task"], "change": data["change"], "progress": data["progress"]}
        return make(TASK, staff, {**staff, "thread": _client_thread(data["thread"])})
    if name == chats.THREAD_STARTED.name:
        return make(THREAD, {"thread": data["thread"], "tasks": data["tasks"], "changed": ["started"]},
                    {"thread": _client_thread(data["thread"]), "tasks": data["tasks"], "changed": ["started"]})
    if name == chats.THREAD_UPDATED.name:
        changed = list(data["changed"])
        seen_by_client = [change for change in changed if change in _CLIENT_THREAD_CHANGES]
        client = {"thread": _client_thread(data["thread"]), "changed": seen_by_client} if seen_by_client else None
        return make(THREAD, {"thread": data["thread"], "changed": changed, "reminders": data["reminders"]}, client)
    return None


def is_access_change(envelope: dict[str, Any]) -> bool:
    """A crm event after which every stream of the firm is checked again."""
    return envelope.get("source") == "crm" and envelope.get("type") in ACCESS_EVENTS
