"""The staff's Inbox+: one item per (recipient, subject), updated as events about that subject arrive.

A subject is what a staff member follows: a file request (`file_request`, its id) or the portal
uploads of an account (`account_uploads`, the account's id). Each event about it updates the one
item of each recipient (its counters, title and body), moves it to the top (`updated_at`) and makes
it unread again; reading it (`mark_read`) lasts until the next event.

Events may be applied in any order (two instances, a requeued one), so an item's state is merged,
never overwritten: a file request's `count` is the highest `received_count` any event reported, and
it reads as done only while no file came after the "done uploading" (the done event's own count is
at least `count`). Titles and bodies are made from that state each time.

Plain Python over a SQLAlchemy session, no nameko; the caller commits.
"""
from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from notifications.models import InboxItem, _now
from shared.contracts.notifications import INBOX_ITEM_CHANGED, InboxItemSchema
from shared.errors import NotFound
from shared.events import EventLog
from shared.paging import newest_first
from shared.schemas import schema

FILE_REQUEST = "file_request"
ACCOUNT_UPLOADS = "account_uploads"
TITLE_MAX, BODY_MAX, LABEL_MAX = 300, 1000, 80
# How many names of the latest arrival's documents an item keeps and shows.
LATEST_DOCUMENTS = 10
NAMES_SHOWN = 5


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _files(count: int) -> str:
    return f"{count} file{'s' if count != 1 else ''}"


def _who(person: Mapping[str, Any] | None) -> str:
    person = person or {}
    return (person.get("name") or "").strip() or (person.get("email") or "").strip() or "Someone"


def _who_with_address(person: Mapping[str, Any] | None) -> str:
    person = person or {}
    name, email = (person.get("name") or "").strip(), (person.get("email") or "").strip()
    return f"{name} <{email}>" if name and email else _who(person)


def request_label(message: str | None) -> str:
    """What names a file request in a title: the first line of its message, quoted, shortened."""
    first = next((line for line in (message or "").splitlines() if line.strip()), "")
    return f"“{_clip(first, LABEL_MAX)}”" if first else "your file request"


def _item(db: Session, firm_id: uuid.UUID, user_id: uuid.UUID, account_id: uuid.UUID | None, subject_type: str,
          subject_id: uuid.UUID) -> InboxItem:
    """The recipient's item for this subject, made if missing, locked until the caller commits.

    Insert-if-missing then SELECT ... FOR UPDATE: two events about one subject handled at once both
    find the one row, the second waits for the first's commit and merges into what it wrote."""
    now = _now()
    db.execute(
        insert(InboxItem).values(
            id=uuid.uuid4(), firm_id=firm_id, user_id=user_id, account_id=account_id, subject_type=subject_type,
            subject_id=subject_id, title="", body="", count=0, event_count=0, data={}, unread=True,
            created_at=now, updated_at=now,
        ).on_conflict_do_nothing(index_elements=[InboxItem.user_id, InboxItem.subject_type, InboxItem.subject_id])
    )
    return db.scalars(
        select(InboxItem).where(InboxItem.user_id == user_id, InboxItem.subject_type == subject_type,
                                InboxItem.subject_id == subject_id).with_for_update()
    ).one()


def _in_order(user_ids: Iterable[uuid.UUID]) -> list[uuid.UUID]:
    """Each recipient once, always in the same order: two events locking the same items never deadlock."""
    return sorted(set(user_ids))


def _touched(item: InboxItem, title: str, body: str) -> None:
    """An event changed the item: new text, on top of the inbox, unread again."""
    item.title, item.body = _clip(title, TITLE_MAX), _clip(body, BODY_MAX)
    item.event_count += 1
    item.unread, item.read_at, item.updated_at = True, None, _now()


# -- file requests ---------------------------------------------------------------------------------


def _request_state(item: InboxItem, file_request: Mapping[str, Any], uploader: Mapping[str, Any] | None,
                   received_count: int) -> dict[str, Any]:
    item.count = max(item.count, received_count)
    data = dict(item.data or {})
    data["file_request"] = {key: _text(file_request.get(key)) for key in ("id", "folder_id", "link_id", "message")}
    if uploader:
        data["uploader"] = {"name": uploader.get("name") or "", "email": uploader.get("email") or ""}
    return data


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _request_text(item: InboxItem) -> tuple[str, str]:
    data = item.data
    label = request_label(data["file_request"].get("message"))
    uploader = data.get("uploader")
    done_count = data.get("done_count")
    if done_count is not None and done_count >= item.count:
        return (f"{_who(uploader)} is done uploading for {label}",
                f"{_who_with_address(uploader)} pressed “Done uploading”; {_files(item.count)} received in all.")
    names = [d["name"] for d in data.get("latest_documents", [])]
    shown = ", ".join(names[:NAMES_SHOWN]) + (f" and {len(names) - NAMES_SHOWN} more" if len(names) > NAMES_SHOWN
                                              else "")
    body = f"Latest from {_who_with_address(uploader)}" + (f": {shown}" if shown else "") + "."
    return f"{_files(item.count)} received for {label}", body


def _request_items(db: Session, user_ids: Iterable[uuid.UUID], firm_id: uuid.UUID, account_id: uuid.UUID,
                   file_request: Mapping[str, Any]) -> list[InboxItem]:
    request_id = uuid.UUID(str(file_request["id"]))
    return [_item(db, firm_id, user_id, account_id, FILE_REQUEST, request_id) for user_id in _in_order(user_ids)]


def files_received(db: Session, user_ids: Iterable[uuid.UUID], firm_id: uuid.UUID, account_id: uuid.UUID,
                   file_request: Mapping[str, Any], uploader: Mapping[str, Any] | None,
                   documents: list[Mapping[str, Any]], received_count: int) -> list[InboxItem]:
    """Files arrived through a file request of the firm's account: each recipient's item of that request
    says how many so far ("3 files received for “W-2 for 2025”"), unread. `received_count` is the
    request's total so far."""
    items = _request_items(db, user_ids, firm_id, account_id, file_request)
    for item in items:
        data = _request_state(item, file_request, uploader, received_count)
        data["latest_documents"] = [{"id": _text(d.get("id")), "name": str(d.get("name") or "")}
                                    for d in documents[:LATEST_DOCUMENTS]]
        item.data = data
        _touched(item, *_request_text(item))
    return items


def file_request_done(db: Session, user_ids: Iterable[uuid.UUID], firm_id: uuid.UUID, account_id: uuid.UUID,
                      file_request: Mapping[str, Any], uploader: Mapping[str, Any] | None,
                      received_count: int) -> list[InboxItem]:
    """The uploader pressed "done uploading": the same items say so, unread. Files that arrive later
    (a higher count than the done event's) make the item about them again."""
    items = _request_items(db, user_ids, firm_id, account_id, file_request)
    for item in items:
        data = _request_state(item, file_request, uploader, received_count)
        data["done_count"] = max(received_count, data.get("done_count") or 0)
        item.data = data
        _touched(item, *_request_text(item))
    return items


# -- the client portal ------------------------------------------------------------------------------


def client_done_uploading(db: Session, user_ids: Iterable[uuid.UUID], firm_id: uuid.UUID, account_id: uuid.UUID,
                          account_name: str, client: Mapping[str, Any]) -> list[InboxItem]:
    """A portal client pressed "done uploading": one item per recipient for the account's uploads,
    counting how often it was pressed."""
    items = [_item(db, firm_id, user_id, account_id, ACCOUNT_UPLOADS, account_id)
             for user_id in _in_order(user_ids)]
    for item in items:
        item.count += 1
        item.data = {"account_name": account_name,
                     "client": {key: _text(client.get(key)) for key in ("id", "name", "email")}}
        times = f" ({item.count} times)" if item.count > 1 else ""
        _touched(item, f"{_who(client)} is done uploading for {account_name}",
                 f"{_who_with_address(client)} pressed “Done uploading” in the portal{times}.")
    return items


def changed(items: Iterable[InboxItem]) -> EventLog:
    """`inbox_item_changed` for each item an event updated: the real-time streams push it to its owner.
    Handlers emit it with the change: `self.db.emit_all(inbox.changed(inbox.files_received(...)))`."""
    log = EventLog()
    for item in items:
        log.add(INBOX_ITEM_CHANGED, {"user_id": str(item.user_id), "item": schema(InboxItemSchema).dump(item)},
                firm_id=item.firm_id, account_id=item.account_id)
    return log


# -- reading ----------------------------------------------------------------------------------------


def list_inbox(db: Session, firm_id: uuid.UUID, user_id: uuid.UUID, unread: bool | None, limit: int,
               cursor: str | None) -> tuple[list[InboxItem], str | None]:
    """One page of this staff member's items, latest activity first (only unread, or only read, ones if
    `unread` says). An item updated while someone pages moves to the top: he finds it there on his next
    first page, not twice in one walk."""
    query = select(InboxItem).where(InboxItem.firm_id == firm_id, InboxItem.user_id == user_id)
    if unread is not None:
        query = query.where(InboxItem.unread.is_(unread))
    return newest_first(db, query, InboxItem, limit, cursor, by="updated_at")


def mark_read(db: Session, firm_id: uuid.UUID, user_id: uuid.UUID, item_id: uuid.UUID) -> InboxItem:
    """Mark one of this staff member's items read (again: harmless). Anyone else's item is not found."""
    item = db.scalar(select(InboxItem).where(InboxItem.id == item_id, InboxItem.firm_id == firm_id,
                                             InboxItem.user_id == user_id).with_for_update())
    if item is None:
        raise NotFound("No such inbox item.")
    if item.unread:
        item.unread, item.read_at = False, _now()
    db.flush()
    return item
