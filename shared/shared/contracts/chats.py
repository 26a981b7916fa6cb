"""The chats service's wire contract: what its RPCs accept and return, and the events it emits.

Threads of a firm with one client account: messages (a Markdown subset rendered and sanitised by
the service), client tasks, reminders about the last message, templates with shortcodes. The
gateway documents its HTTP API from these schemas; notifications and the real-time stream read the
events declared at the bottom (each carries the thread's id in `data`; `firm_id` and `account_id`
are in the envelope).
"""
from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from shared.events import declare
from shared.schemas import PageQuerySchema, StrictBoolean, Timestamp, page_schema

SUBJECT_MAX = 200
BODY_MAX = 20_000
TASK_TITLE_MAX = 500
TEMPLATE_NAME_MAX = 200
MAX_TASKS = 100  # per thread, and per template
MAX_DOCUMENTS = 50  # attached to one message
MAX_JOBS = 50  # linked to one thread
REMINDER_DAYS_DEFAULT, REMINDER_COUNT_DEFAULT = 3, 1
REMINDER_DAYS_MAX, REMINDER_COUNT_MAX = 365, 52
# Who wrote a message: a staff member or a client user.
AUTHOR_KINDS = ("staff", "client")
# What happened to a client task (task_updated's `change`).
TASK_CHANGES = ("created", "updated", "completed", "reopened", "deleted")
# What changed on a thread (thread_updated's `changed`).
THREAD_CHANGES = ("archived", "unarchived", "reminders", "job_ids")
SHORTCODES = ("ACCOUNT_NAME", "CONTACT_FIRST_NAME", "CONTACT_LAST_NAME", "FIRM_NAME", "CURRENT_DATE",
              "CURRENT_YEAR", "LAST_YEAR")


def _subject(**kwargs: Any) -> fields.String:
    kwargs.setdefault("metadata", {"description": "Trimmed; not blank"})
    return fields.String(validate=validate.Length(min=1, max=SUBJECT_MAX), **kwargs)


def _body(**kwargs: Any) -> fields.String:
    return fields.String(validate=validate.Length(max=BODY_MAX), metadata={
        "description": "Markdown subset: **bold**, *italics*, lists, links; `@Name` mentions a team member; a "
                       "YouTube, Vimeo, Loom or Google Drive link alone on a line becomes an embedded video"},
        **kwargs)


def _document_ids(**kwargs: Any) -> fields.List:
    return fields.List(fields.UUID(), validate=validate.Length(max=MAX_DOCUMENTS), metadata={
        "description": "Existing documents of the account in client-visible folders, attached to the message"},
        **kwargs)


# -- what callers send ------------------------------------------------------------------------------


class TaskCreateSchema(Schema):
    title = fields.String(required=True, validate=validate.Length(min=1, max=TASK_TITLE_MAX))


class RemindersInSchema(Schema):
    enabled = StrictBoolean(required=True)
    days = fields.Integer(load_default=REMINDER_DAYS_DEFAULT,
                          validate=validate.Range(min=1, max=REMINDER_DAYS_MAX, error="Must be 1 to 365 days."),
                          metadata={"description": "Days until the next reminder (default 3)"})
    count = fields.Integer(load_default=REMINDER_COUNT_DEFAULT,
                           validate=validate.Range(min=1, max=REMINDER_COUNT_MAX),
                           metadata={"description": "How many reminders at most (default 1)"})


class ThreadCreateSchema(Schema):
    subject = _subject(load_default=None, metadata={"description": "Required unless a template gives it"})
    body = _body(load_default=None)
    template_id = fields.UUID(load_default=None, metadata={
        "description": "A chat template: its subject, body, tasks and reminders where the request gives none; "
                       "its shortcodes are filled in for the account"})
    tasks = fields.List(fields.Nested(TaskCreateSchema), load_default=None,
                        validate=validate.Length(max=MAX_TASKS))
    reminders = fields.Nested(RemindersInSchema, load_default=None, metadata={
        "description": "Default: off (or the template's)"})
    job_ids = fields.List(fields.UUID(), load_default=list, validate=validate.Length(max=MAX_JOBS),
                          metadata={"description": "Jobs of the account to link the thread to"})
    document_ids = _document_ids(load_default=list)


class PortalThreadCreateSchema(Schema):
    subject = _subject(required=True)
    body = _body(required=True)
    document_ids = _document_ids(load_default=list)


class MessageCreateSchema(Schema):
    body = _body(load_default="")
    document_ids = _document_ids(load_default=list)

    @validates_schema
    def _something(self, data: dict[str, Any], **_: Any) -> None:
        if not (data.get("body") or "").strip() and not data.get("document_ids"):
            raise ValidationError("Write something or attach a document.", "body")


class TaskPatchSchema(Schema):
    done = StrictBoolean()
    title = fields.String(validate=validate.Length(min=1, max=TASK_TITLE_MAX))

    @validates_schema
    def _something(self, data: dict[str, Any], **_: Any) -> None:
        if not data:
            raise ValidationError("Give `done`, `title` or both.")


class PortalTaskPatchSchema(Schema):
    done = StrictBoolean(required=True)


class RemindersPutSchema(RemindersInSchema):
    pass


class ThreadQuerySchema(PageQuerySchema):
    archived = fields.Boolean(load_default=None, metadata={
        "description": "`true`: only archived threads; `false`: only open ones; omitted: all"})


class TaskQuerySchema(PageQuerySchema):
    account_id = fields.UUID(load_default=None, metadata={"description": "Only this account's tasks"})
    done = fields.Boolean(load_default=None, metadata={"description": "`true`: only done; `false`: only open"})


class AttachmentQuerySchema(Schema):
    """`POST /api/v1/chats/{id}/attachments`: where the file goes (a client-visible folder of the account)."""

    folder_id = fields.UUID(required=True, metadata={"description": "A folder of the thread's account the client "
                                                                    "sees (`view` or `view_edit`)"})
    filename = fields.String(load_default=None, validate=validate.Length(min=1, max=4096),
                             metadata={"description": "Required with a raw body; multipart parts name themselves"})


class AttachSchema(Schema):
    """What the gateway hands chats after it stored an attachment through documents."""

    document_ids = fields.List(fields.UUID(), required=True, validate=validate.Length(min=1, max=1000))


class TemplateTaskSchema(Schema):
    title = fields.String(required=True, validate=validate.Length(min=1, max=TASK_TITLE_MAX))


class TemplateCreateSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=TEMPLATE_NAME_MAX))
    subject = fields.String(required=True, validate=validate.Length(min=1, max=SUBJECT_MAX),
                            metadata={"description": "May hold shortcodes, e.g. `Documents for [CURRENT_YEAR]`"})
    body = fields.String(required=True, validate=validate.Length(min=1, max=BODY_MAX),
                         metadata={"description": "May hold shortcodes: " + ", ".join(f"[{s}]" for s in SHORTCODES)})
    tasks = fields.List(fields.Nested(TemplateTaskSchema), load_default=list, validate=validate.Length(max=MAX_TASKS))
    reminders = fields.Nested(RemindersInSchema, load_default=None)


class TemplatePatchSchema(Schema):
    name = fields.String(validate=validate.Length(min=1, max=TEMPLATE_NAME_MAX))
    subject = fields.String(validate=validate.Length(min=1, max=SUBJECT_MAX))
    body = fields.String(validate=validate.Length(min=1, max=BODY_MAX))
    tasks = fields.List(fields.Nested(TemplateTaskSchema), validate=validate.Length(max=MAX_TASKS))
    reminders = fields.Nested(RemindersInSchema, allow_none=True)

    @validates_schema
    def _something(self, data: dict[str, Any], **_: Any) -> None:
        if not data:
            raise ValidationError("Give at least one field to change.")


class ChatSettingsSchema(Schema):
    """`GET/PATCH /api/v1/settings/chats`: crm keeps them with the firm's portal settings."""

    clients_create_chats = StrictBoolean(metadata={"description": "Clients may start threads from the portal"})
    chat_email_content = StrictBoolean(metadata={
        "description": "A client's email about a new message shows its content (default: only that one waits)"})


class ChatSettingsPatchSchema(ChatSettingsSchema):
    @validates_schema
    def _something(self, data: dict[str, Any], **_: Any) -> None:
        if not data:
            raise ValidationError("Give `clients_create_chats`, `chat_email_content` or both.")


# -- what callers get -------------------------------------------------------------------------------


class AuthorSchema(Schema):
    kind = fields.String(validate=validate.OneOf(AUTHOR_KINDS), metadata={"description": "`staff` or `client`"})
    id = fields.UUID(metadata={"description": "The user"})
    name = fields.String()


class MentionSchema(Schema):
    id = fields.UUID(metadata={"description": "The team member mentioned"})
    name = fields.String()


class MessageSchema(Schema):
    id = fields.UUID()
    thread_id = fields.UUID()
    author = fields.Nested(AuthorSchema)
    body = fields.String(metadata={"description": "As written (Markdown)"})
    body_html = fields.String(metadata={"description": "Rendered and sanitised: safe to show as HTML"})
    mentions = fields.List(fields.Nested(MentionSchema))
    document_ids = fields.List(fields.UUID(), metadata={"description": "Attached documents still there"})
    created_at = Timestamp()
    read_at = Timestamp(allow_none=True, metadata={
        "description": "When the other side first read it (a staff message: a client user; a client's: staff)"})


class TaskSchema(Schema):
    id = fields.UUID()
    thread_id = fields.UUID()
    account_id = fields.UUID()
    title = fields.String()
    done = fields.Boolean()
    done_at = Timestamp(allow_none=True)
    done_by = fields.UUID(allow_none=True, metadata={"description": "Who ticked it last"})
    created_at = Timestamp()


class RemindersSchema(Schema):
    enabled = fields.Boolean()
    days = fields.Integer()
    count = fields.Integer()
    sent = fields.Integer(metadata={"description": "Reminders sent about the last message"})
    next_at = Timestamp(allow_none=True, metadata={"description": "When the next one is due; null: none due"})


class ThreadSchema(Schema):
    id = fields.UUID()
    account_id = fields.UUID()
    subject = fields.String()
    archived = fields.Boolean()
    unread = fields.Integer(metadata={"description": "Messages of the other side the caller's side has not read"})
    tasks = fields.List(fields.Nested(TaskSchema), metadata={"description": "The client tasks, oldest first"})
    reminders = fields.Nested(RemindersSchema)
    job_ids = fields.List(fields.UUID())
    documents = fields.Integer(attribute="documents_count", metadata={
        "description": "Documents attached in the thread (its Documents tab shows when more than 0)"})
    last_message_at = Timestamp(allow_none=True)
    created_by = fields.Nested(AuthorSchema)
    created_at = Timestamp()


ThreadPageSchema = page_schema(ThreadSchema, "ThreadPage")
MessagePageSchema = page_schema(MessageSchema, "MessagePage")


class ThreadDocumentSchema(Schema):
    """One row of a thread's Documents tab: a document attached to one of its messages."""

    id = fields.UUID(attribute="document_id", metadata={"description": "The document"})
    name = fields.String()
    size = fields.Integer()
    content_type = fields.String()
    message_id = fields.UUID()
    attached_by = fields.Nested(AuthorSchema)
    attached_at = Timestamp()


ThreadDocumentPageSchema = page_schema(ThreadDocumentSchema, "ThreadDocumentPage")


class ProgressSchema(Schema):
    done = fields.Integer()
    total = fields.Integer()


class TaskOverviewSchema(TaskSchema):
    """A task in `GET /api/v1/tasks`: with its thread's subject and progress."""

    thread_subject = fields.String()
    thread_progress = fields.Nested(ProgressSchema)


class TaskPageSchema(Schema):
    items = fields.List(fields.Nested(TaskOverviewSchema))
    next_cursor = fields.String(allow_none=True)
    progress = fields.Nested(ProgressSchema, metadata={"description": "Over every task the filters select"})


class TemplateSchema(Schema):
    id = fields.UUID()
    name = fields.String()
    subject = fields.String()
    body = fields.String()
    tasks = fields.List(fields.Nested(TemplateTaskSchema))
    reminders = fields.Nested(RemindersInSchema, allow_none=True)
    created_at = Timestamp()
    updated_at = Timestamp()


TemplatePageSchema = page_schema(TemplateSchema, "ChatTemplatePage")


# -- events -----------------------------------------------------------------------------------------
# The envelope's firm_id and account_id are the thread's; its actor who caused it (null: the scheduler).


class ThreadEventSchema(Schema):
    """A thread as events carry it (no per-reader `unread`)."""

    id = fields.UUID(required=True)
    account_id = fields.UUID(required=True)
    subject = fields.String(required=True)
    archived = fields.Boolean(required=True)
    job_ids = fields.List(fields.UUID(), required=True)
    last_message_at = Timestamp(required=True, allow_none=True)
    created_at = Timestamp(required=True)


class MessageEventSchema(MessageSchema):
    author = fields.Nested(AuthorSchema, required=True)


class TaskEventSchema(TaskSchema):
    pass


class ClientRecipientSchema(Schema):
    """A client user of the account with an activated portal account, when the event was made."""

    user_id = fields.UUID(required=True)
    email = fields.String(required=True)
    first_name = fields.String(required=True, allow_none=True)


class ClientEmailSchema(Schema):
    """What an email to the account's clients about the thread needs (staff messages and reminders)."""

    firm_name = fields.String(required=True)
    account_name = fields.String(required=True)
    email_content = fields.Boolean(required=True, metadata={"description": "The firm's `chat_email_content`"})
    recipients = fields.List(fields.Nested(ClientRecipientSchema), required=True)


class ThreadStartedSchema(Schema):
    thread = fields.Nested(ThreadEventSchema, required=True)
    tasks = fields.List(fields.Nested(TaskEventSchema), required=True)


class MessagePostedSchema(Schema):
    thread = fields.Nested(ThreadEventSchema, required=True)
    message = fields.Nested(MessageEventSchema, required=True)
    client_email = fields.Nested(ClientEmailSchema, required=True, allow_none=True, metadata={
        "description": "A staff message: whom to email that it waits; null for a client's message"})


class MessageUpdatedSchema(Schema):
    """A message changed (an attached document was deleted, so it left the message)."""

    thread_id = fields.UUID(required=True)
    message = fields.Nested(MessageEventSchema, required=True)


class MessagesReadSchema(Schema):
    thread_id = fields.UUID(required=True)
    reader = fields.Nested(AuthorSchema, required=True)
    message_ids = fields.List(fields.UUID(), required=True)
    read_at = Timestamp(required=True)


class TaskUpdatedSchema(Schema):
    thread = fields.Nested(ThreadEventSchema, required=True)
    task = fields.Nested(TaskEventSchema, required=True)
    change = fields.String(required=True, validate=validate.OneOf(TASK_CHANGES))
    progress = fields.Nested(ProgressSchema, required=True, metadata={"description": "The thread's tasks"})


class ThreadUpdatedSchema(Schema):
    thread = fields.Nested(ThreadEventSchema, required=True)
    changed = fields.List(fields.String(validate=validate.OneOf(THREAD_CHANGES)), required=True)
    reminders = fields.Nested(RemindersSchema, required=True)


class ReminderSentSchema(Schema):
    thread = fields.Nested(ThreadEventSchema, required=True)
    message = fields.Nested(MessageEventSchema, required=True, metadata={"description": "The last message"})
    number = fields.Integer(required=True, metadata={"description": "1 for the first reminder about it"})
    count = fields.Integer(required=True)
    client_email = fields.Nested(ClientEmailSchema, required=True)


THREAD_STARTED = declare("chats", "thread_started", ThreadStartedSchema,
                         "A thread was started on an account (its first message follows as message_posted)")
MESSAGE_POSTED = declare("chats", "message_posted", MessagePostedSchema,
                         "A staff member or a client user wrote in a thread")
MESSAGE_UPDATED = declare("chats", "message_updated", MessageUpdatedSchema,
                          "A message changed: a deleted document left it (actor: none)")
MESSAGES_READ = declare("chats", "messages_read", MessagesReadSchema,
                        "One side read the other side's messages in a thread")
TASK_UPDATED = declare("chats", "task_updated", TaskUpdatedSchema,
                       "A client task was added, renamed, ticked, unticked or removed")
THREAD_UPDATED = declare("chats", "thread_updated", ThreadUpdatedSchema,
                         "A thread was archived, unarchived, or its reminders or jobs changed")
REMINDER_SENT = declare("chats", "reminder_sent", ReminderSentSchema,
                        "The scheduler reminds the account's clients of a thread's last message (actor: none)")


# -- bulk messages (POST /api/v1/chats/bulk) ---------------------------------------------------------
# One thread per account, made in the background in batches: each batch is a `bulk_batch_queued` event
# that any chats instance may handle; each (job, account) is done once (services/chats/chats/bulk.py).

BULK_ACCOUNTS_MAX = 10_000
BULK_STATUSES = ("queued", "running", "done")
BULK_FAILURES_SHOWN = 500


class BulkCreateSchema(Schema):
    account_ids = fields.List(fields.UUID(), required=True,
                              validate=validate.Length(min=1, max=BULK_ACCOUNTS_MAX),
                              metadata={"description": f"One thread per account (1 to {BULK_ACCOUNTS_MAX:,}; "
                                                       "an account named twice gets one)"})
    subject = _subject(load_default=None, metadata={"description": "Required unless the template gives it"})
    body = _body(load_default=None)
    template_id = fields.UUID(load_default=None, metadata={
        "description": "A chat template: its subject, body, tasks and reminders where the request gives none, "
                       "its shortcodes filled in for each account"})


class BulkFailureSchema(Schema):
    account_id = fields.UUID()
    reason = fields.String(metadata={"description": "Why no thread was made for this account"})


class BulkJobSchema(Schema):
    id = fields.UUID()
    status = fields.String(validate=validate.OneOf(BULK_STATUSES), metadata={
        "description": "`queued` (nothing made yet), `running`, `done` (every account made or failed)"})
    total = fields.Integer(metadata={"description": "Accounts in the job"})
    done = fields.Integer(metadata={"description": "Threads made"})
    failed = fields.Integer(metadata={"description": "Accounts that got no thread (see `failures`)"})
    subject = fields.String(allow_none=True)
    template_id = fields.UUID(allow_none=True)
    failures = fields.List(fields.Nested(BulkFailureSchema), metadata={
        "description": f"Why, per account that failed (the first {BULK_FAILURES_SHOWN})"})
    created_by = fields.UUID()
    created_at = Timestamp()
    finished_at = Timestamp(allow_none=True)


class BulkBatchQueuedSchema(Schema):
    job_id = fields.UUID(required=True)
    batch = fields.Integer(required=True, metadata={"description": "The batch's number in the job, from 0"})


BULK_BATCH_QUEUED = declare("chats", "bulk_batch_queued", BulkBatchQueuedSchema,
                            "A batch of a bulk message job waits for a chats instance to make its threads")
