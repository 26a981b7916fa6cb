"""Threads and their messages: plain domain code, no nameko. Each function gets the caller's session
(its transaction) and the time (`now`: the service's clock, so tests drive it); events are handed back
in an EventLog for the entrypoint to emit.

Who may act on which account is decided before these run (shared.access); what crm knows of the
account (its activated clients, the team to mention, its jobs) comes in as an `Audience`.
"""
from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, func, select, update
from sqlalchemy.orm import Session

from chats import reminders, rendering
from chats.models import Message, Task, Thread, ThreadDocument
from shared.contracts.chats import (
    MAX_TASKS,
    MESSAGE_POSTED,
    MESSAGES_READ,
    TASK_UPDATED,
    THREAD_STARTED,
    THREAD_UPDATED,
    ClientEmailSchema,
    MessageEventSchema,
    ProgressSchema,
    RemindersSchema,
    TaskEventSchema,
    ThreadEventSchema,
)
from shared.errors import Conflict, NotFound, ValidationFailed
from shared.events import EventLog
from shared.paging import newest_first
from shared.schemas import schema

NO_SUCH_THREAD = "No such thread."
NO_CLIENTS = ("The account has no client with an activated portal account, so nobody could read this chat: "
              "turn LOGIN on for a contact and wait until he activates his account.")


@dataclass(frozen=True)
class Author:
    """Who writes: a staff member or a client user, with the name the thread shows."""

    kind: str
    id: uuid.UUID
    name: str

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "id": self.id, "name": self.name}


@dataclass(frozen=True)
class Audience:
    """What crm says of an account (`crm.chat_audience`)."""

    account_name: str
    firm_name: str
    clients_create_chats: bool
    chat_email_content: bool
    clients: list[dict[str, Any]] = field(default_factory=list)
    team: list[rendering.Member] = field(default_factory=list)
    job_ids: list[uuid.UUID] = field(default_factory=list)

    @classmethod
    def from_crm(cls, answer: dict[str, Any]) -> Audience:
        return cls(account_name=answer["account_name"], firm_name=answer["firm_name"],
                   clients_create_chats=bool(answer["clients_create_chats"]),
                   chat_email_content=bool(answer["chat_email_content"]), clients=list(answer["clients"]),
                   team=[rendering.Member(uuid.UUID(str(m["id"])), m["name"]) for m in answer["team"]],
                   job_ids=[uuid.UUID(str(j)) for j in answer["job_ids"]])

    def client_email(self) -> dict[str, Any]:
        """ClientEmailSchema: whom to email about a staff message or a reminder."""
        return schema(ClientEmailSchema).dump({
            "firm_name": self.firm_name, "account_name": self.account_name, "email_content": self.chat_email_content,
            "recipients": [{"user_id": c["user_id"], "email": c["email"], "first_name": c.get("first_name")}
                           for c in self.clients]})


@dataclass(frozen=True)
class AttachedDocument:
    """A document of the account in a client-visible folder, as documents described it."""

    id: uuid.UUID
    name: str
    size: int
    content_type: str


def clean_subject(subject: str) -> str:
    """The subject as stored: without surrounding white space, and not blank."""
    subject = (subject or "").strip()
    if not subject:
        raise ValidationFailed("A thread needs a subject.", {"subject": ["Must not be blank."]})
    return subject


def clean_title(title: str, name: str = "title") -> str:
    title = (title or "").strip()
    if not title:
        raise ValidationFailed("A task needs a title.", {name: ["Must not be blank."]})
    return title


# -- reading ------------------------------------------------------------------------------------------


def get(session: Session, firm_id: uuid.UUID, thread_id: uuid.UUID, *, lock: bool = False) -> Thread:
    """A thread of this firm; another firm's is as unknown as one that does not exist."""
    query = select(Thread).where(Thread.id == thread_id, Thread.firm_id == firm_id)
    thread = session.scalar(query.with_for_update() if lock else query)
    if thread is None:
        raise NotFound(NO_SUCH_THREAD)
    return thread


def in_account(thread: Thread, account_id: uuid.UUID) -> Thread:
    """A portal path names the account: a thread of another account is not found there."""
    if thread.account_id != account_id:
        raise NotFound(NO_SUCH_THREAD)
    return thread


def other_side(kind: str) -> str:
    return "client" if kind == "staff" else "staff"


@dataclass
class ThreadView:
    """A thread as one side sees it (ThreadSchema)."""

    thread: Thread
    unread: int
    tasks: list[Task]
    documents_count: int

    def __getattr__(self, name: str) -> Any:
        return getattr(self.thread, name)

    @property
    def reminders(self) -> dict[str, Any]:
        return reminders_of(self.thread)

    @property
    def created_by(self) -> dict[str, Any]:
        t = self.thread
        return {"kind": t.created_by_kind, "id": t.created_by, "name": t.created_by_name}


def reminders_of(thread: Thread) -> dict[str, Any]:
    return {"enabled": thread.reminders_enabled, "days": thread.reminder_days, "count": thread.reminder_count,
            "sent": thread.reminders_sent, "next_at": thread.reminder_next_at}


def views(session: Session, threads: list[Thread], reader_kind: str) -> list[ThreadView]:
    """The threads with what the reader's side has not read, their tasks and documents (three queries)."""
    ids = [t.id for t in threads]
    if not ids:
        return []
    unread = dict(list(session.execute(
        select(Message.thread_id, func.count()).where(Message.thread_id.in_(ids), Message.read_at.is_(None),
                                                      Message.author_kind == other_side(reader_kind))
        .group_by(Message.thread_id)).tuples()))
    documents = dict(list(session.execute(
        select(ThreadDocument.thread_id, func.count()).where(ThreadDocument.thread_id.in_(ids))
        .group_by(ThreadDocument.thread_id)).tuples()))
    tasks: dict[uuid.UUID, list[Task]] = {i: [] for i in ids}
    for task in session.scalars(select(Task).where(Task.thread_id.in_(ids)).order_by(Task.created_at, Task.id)):
        tasks[task.thread_id].append(task)
    return [ThreadView(t, unread.get(t.id, 0), tasks[t.id], documents.get(t.id, 0)) for t in threads]


def view(session: Session, thread: Thread, reader_kind: str) -> ThreadView:
    return views(session, [thread], reader_kind)[0]


def list_threads(session: Session, firm_id: uuid.UUID, account_id: uuid.UUID, archived: bool | None, limit: int,
                 cursor: str | None) -> tuple[list[Thread], str | None]:
    """One page of the account's threads, newest first."""
    query: Select = select(Thread).where(Thread.firm_id == firm_id, Thread.account_id == account_id)
    if archived is not None:
        query = query.where(Thread.archived_at.is_not(None) if archived else Thread.archived_at.is_(None))
    return newest_first(session, query, Thread, limit, cursor)


def list_messages(session: Session, thread: Thread, limit: int, cursor: str | None
                  ) -> tuple[list[Message], str | None]:
    """One page of the thread's messages, newest first."""
    return newest_first(session, select(Message).where(Message.thread_id == thread.id), Message, limit, cursor)


def list_documents(session: Session, thread: Thread, limit: int, cursor: str | None
                   ) -> tuple[list[ThreadDocument], str | None]:
    """The thread's Documents tab: every document attached in it (still there), newest first."""
    return newest_first(session, select(ThreadDocument).where(ThreadDocument.thread_id == thread.id),
                        ThreadDocument, limit, cursor)


# -- what events carry -----------------------------------------------------------------------------------


def thread_event(thread: Thread) -> dict[str, Any]:
    return schema(ThreadEventSchema).dump({"id": thread.id, "account_id": thread.account_id, "subject": thread.subject,
                                     "archived": thread.archived, "job_ids": thread.job_ids or [],
                                     "last_message_at": thread.last_message_at, "created_at": thread.created_at})


def message_event(message: Message) -> dict[str, Any]:
    return schema(MessageEventSchema).dump(message)


def task_event(task: Task) -> dict[str, Any]:
    return schema(TaskEventSchema).dump(task)


def progress(session: Session, thread: Thread) -> dict[str, int]:
    done, total = session.execute(
        select(func.count().filter(Task.done.is_(True)), func.count()).where(Task.thread_id == thread.id)).one()
    return schema(ProgressSchema).dump({"done": done, "total": total})


# -- writing ----------------------------------------------------------------------------------------------


def _mentions(body: str, author: Author, audience: Audience) -> list[dict[str, Any]]:
    """Staff messages mention team members by `@Name`; a client's `@` is just text."""
    if author.kind != "staff":
        return []
    return [{"id": str(m.id), "name": m.name} for m in rendering.find_mentions(body, audience.team)]


def _attach(session: Session, thread: Thread, message: Message, author: Author,
            documents: Iterable[AttachedDocument], now: datetime) -> None:
    for document in documents:
        session.add(ThreadDocument(thread_id=thread.id, message_id=message.id, firm_id=thread.firm_id,
                                   document_id=document.id, name=document.name, size=document.size,
                                   content_type=document.content_type, author_kind=author.kind,
                                   author_id=author.id, author_name=author.name, created_at=now))


def _unique(documents: Iterable[AttachedDocument]) -> list[AttachedDocument]:
    return list({d.id: d for d in documents}.values())


def post(session: Session, thread: Thread, author: Author, body: str, documents: Iterable[AttachedDocument],
         audience: Audience, now: datetime, log: EventLog) -> Message:
    """A message in the thread, rendered and sanitised, with its mentions and attachments. A staff message
    is the new last message: reminders about it start over. A client's marks the staff's messages read
    (he answers them) and may end the reminders (reminders.py decides)."""
    documents = _unique(documents)
    message = Message(id=uuid.uuid4(), thread_id=thread.id, firm_id=thread.firm_id, account_id=thread.account_id,
                      author_kind=author.kind, author_id=author.id, author_name=author.name, body=body,
                      body_html=rendering.render(body), mentions=_mentions(body, author, audience),
                      document_ids=[d.id for d in documents], created_at=now)
    session.add(message)
    session.flush()
    _attach(session, thread, message, author, documents, now)
    thread.last_message_at, thread.last_message_id, thread.last_message_by = now, message.id, author.kind
    if author.kind == "client":
        mark_read(session, thread, author, now, log)
    else:
        reminders.restart(thread, now)
    reminders.settle(thread, reminders.facts(session, thread))
    session.flush()
    log.add(MESSAGE_POSTED, {"thread": thread_event(thread), "message": message_event(message),
                             "client_email": audience.client_email() if author.kind == "staff" else None},
            firm_id=thread.firm_id, account_id=thread.account_id)
    return message


def start(session: Session, *, firm_id: uuid.UUID, account_id: uuid.UUID, author: Author, subject: str, body: str,
          audience: Audience, now: datetime, tasks: Iterable[str] = (), reminder_settings: dict | None = None,
          job_ids: Iterable[uuid.UUID] = (), documents: Iterable[AttachedDocument] = (),
          log: EventLog | None = None) -> tuple[Thread, EventLog]:
    """A new thread on an account with its first message (and tasks, reminders, jobs). What bulk messages
    call once per account too. A staff member starts one only for an account with an activated client
    (Conflict otherwise); jobs must be the account's (422 naming the unknown ones)."""
    log = log if log is not None else EventLog()
    if author.kind == "staff" and not audience.clients:
        raise Conflict(NO_CLIENTS)
    jobs = list(dict.fromkeys(job_ids))
    unknown = [str(j) for j in jobs if j not in set(audience.job_ids)]
    if unknown:
        raise ValidationFailed("Only the account's jobs can be linked.",
                               {"job_ids": [f"No such job of this account: {j}." for j in unknown]})
    titles = [clean_title(t, "tasks") for t in tasks]
    thread = Thread(id=uuid.uuid4(), firm_id=firm_id, account_id=account_id, subject=clean_subject(subject),
                    created_by=author.id, created_by_kind=author.kind, created_by_name=author.name, created_at=now,
                    job_ids=jobs, reminders_sent=0)
    reminders.configure(thread, reminder_settings or {"enabled": False}, now)
    session.add(thread)
    session.flush()
    # A microsecond apart: the checklist's order (created_at, the key every list sorts on) is the order given.
    created = [Task(thread_id=thread.id, firm_id=firm_id, account_id=account_id, title=title, done=False,
                    created_at=now + timedelta(microseconds=index)) for index, title in enumerate(titles)]
    session.add_all(created)
    session.flush()
    log.add(THREAD_STARTED, {"thread": thread_event(thread), "tasks": [task_event(t) for t in created]},
            firm_id=firm_id, account_id=account_id)
    post(session, thread, author, body, documents, audience, now, log)
    return thread, log


def mark_read(session: Session, thread: Thread, reader: Author, now: datetime, log: EventLog) -> list[uuid.UUID]:
    """The reader's side has read every message of the other side: their `read_at` is set once."""
    ids = list(session.scalars(
        update(Message).where(Message.thread_id == thread.id, Message.author_kind == other_side(reader.kind),
                              Message.read_at.is_(None))
        .values(read_at=now).returning(Message.id).execution_options(synchronize_session="fetch")))
    if ids:
        log.add(MESSAGES_READ, {"thread_id": str(thread.id), "reader": _author_event(reader),
                                "message_ids": [str(i) for i in ids], "read_at": _iso(now)},
                firm_id=thread.firm_id, account_id=thread.account_id)
        reminders.settle(thread, reminders.facts(session, thread))
    return ids


def _author_event(author: Author) -> dict[str, Any]:
    return {"kind": author.kind, "id": str(author.id), "name": author.name}


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _thread_updated(thread: Thread, changed: list[str], log: EventLog) -> None:
    log.add(THREAD_UPDATED, {"thread": thread_event(thread), "changed": changed,
                             "reminders": schema(RemindersSchema).dump(reminders_of(thread))},
            firm_id=thread.firm_id, account_id=thread.account_id)


def archive(thread: Thread, now: datetime, log: EventLog) -> Thread:
    """Archived: out of the way, and no reminder goes out. Archiving twice changes nothing."""
    if thread.archived_at is None:
        thread.archived_at = now
        thread.reminder_next_at = None
        _thread_updated(thread, ["archived"], log)
    return thread


def unarchive(session: Session, thread: Thread, now: datetime, log: EventLog) -> Thread:
    """Open again: reminders start over as if the last message were new (the article's rule)."""
    if thread.archived_at is not None:
        thread.archived_at = None
        reminders.restart(thread, now)
        reminders.settle(thread, reminders.facts(session, thread))
        _thread_updated(thread, ["unarchived"], log)
    return thread


def set_reminders(session: Session, thread: Thread, settings: dict[str, Any], now: datetime,
                  log: EventLog) -> Thread:
    reminders.configure(thread, settings, now)
    reminders.settle(thread, reminders.facts(session, thread))
    _thread_updated(thread, ["reminders"], log)
    return thread


# -- client tasks -----------------------------------------------------------------------------------------


def get_task(session: Session, thread: Thread, task_id: uuid.UUID, *, lock: bool = True) -> Task:
    query = select(Task).where(Task.id == task_id, Task.thread_id == thread.id)
    task = session.scalar(query.with_for_update() if lock else query)
    if task is None:
        raise NotFound("No such task.")
    return task


def _task_changed(session: Session, thread: Thread, task: Task, change: str, log: EventLog) -> None:
    reminders.settle(thread, reminders.facts(session, thread))
    log.add(TASK_UPDATED, {"thread": thread_event(thread), "task": task_event(task), "change": change,
                           "progress": progress(session, thread)},
            firm_id=thread.firm_id, account_id=thread.account_id)


def add_task(session: Session, thread: Thread, title: str, now: datetime, log: EventLog) -> Task:
    if session.scalar(select(func.count()).where(Task.thread_id == thread.id)) >= MAX_TASKS:
        raise Conflict(f"A thread holds at most {MAX_TASKS} tasks.")
    task = Task(thread_id=thread.id, firm_id=thread.firm_id, account_id=thread.account_id,
                title=clean_title(title), done=False, created_at=now)
    session.add(task)
    session.flush()
    _task_changed(session, thread, task, "created", log)
    return task


def update_task(session: Session, thread: Thread, task: Task, data: dict[str, Any], by: Author, now: datetime,
                log: EventLog) -> Task:
    """Rename and/or tick or untick. Ticking an open task is `completed`; unticking a done one `reopened`;
    setting what already is changes nothing and tells nobody."""
    change = None
    if "title" in data:
        title = clean_title(data["title"])
        if title != task.title:
            task.title, change = title, "updated"
    if "done" in data and data["done"] != task.done:
        task.done = data["done"]
        task.done_at, task.done_by = (now, by.id) if task.done else (None, None)
        change = "completed" if task.done else "reopened"
    session.flush()
    if change:
        _task_changed(session, thread, task, change, log)
    return task


def delete_task(session: Session, thread: Thread, task: Task, log: EventLog) -> None:
    event = task_event(task)
    session.delete(task)
    session.flush()
    reminders.settle(thread, reminders.facts(session, thread))
    log.add(TASK_UPDATED, {"thread": thread_event(thread), "task": event, "change": "deleted",
                           "progress": progress(session, thread)},
            firm_id=thread.firm_id, account_id=thread.account_id)


@dataclass
class TaskOverview:
    task: Task
    thread_subject: str
    thread_progress: dict[str, int]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.task, name)


def list_tasks(session: Session, firm_id: uuid.UUID, accounts: set[uuid.UUID] | None, done: bool | None, limit: int,
               cursor: str | None) -> tuple[list[TaskOverview], str | None, dict[str, int]]:
    """Client tasks across threads (of `accounts`, None for every account of the firm), newest first, each
    with its thread's subject and progress; and the progress over every task selected."""
    query: Select = select(Task).where(Task.firm_id == firm_id)
    if accounts is not None:
        query = query.where(Task.account_id.in_(accounts))
    if done is not None:
        query = query.where(Task.done.is_(done))
    tasks, next_cursor = newest_first(session, query, Task, limit, cursor)
    total_query = query.with_only_columns(func.count().filter(Task.done.is_(True)), func.count()).order_by(None)
    done_count, total = session.execute(total_query).one()
    thread_ids = {t.thread_id for t in tasks}
    subjects = dict(list(session.execute(select(Thread.id, Thread.subject).where(Thread.id.in_(thread_ids))).tuples()))
    per_thread = {row[0]: {"done": row[1], "total": row[2]} for row in session.execute(
        select(Task.thread_id, func.count().filter(Task.done.is_(True)), func.count())
        .where(Task.thread_id.in_(thread_ids)).group_by(Task.thread_id))}
    items = [TaskOverview(t, subjects.get(t.thread_id, ""), per_thread.get(t.thread_id, {"done": 0, "total": 0}))
             for t in tasks]
    return items, next_cursor, {"done": done_count, "total": total}
