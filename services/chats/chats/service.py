"""The chats service's entrypoints: check the caller, validate (the contract), call the domain, emit, dump.

Staff and portal paths share the entrypoints: `shared.access.authorize` tells a staff member who sees
the account from a client user with portal access to it, and a portal path names its account
(`account_id`), so a thread of another account is not found there.
"""
from __future__ import annotations

import contextlib
import logging
import uuid
from typing import Any

from nameko.rpc import RpcProxy
from nameko.timer import timer

from chats import attachments, bulk, scheduler, templates, threads
from chats.clock import Clock
from chats.models import Thread, messaging
from shared.access import Caller, authorize, authorize_as
from shared.context import Principal, require_principal
from shared.contracts.chats import (
    BULK_BATCH_QUEUED,
    AttachmentQuerySchema,
    BulkCreateSchema,
    BulkJobSchema,
    ChatSettingsPatchSchema,
    ChatSettingsSchema,
    MessageCreateSchema,
    MessagePageSchema,
    MessageSchema,
    PortalTaskPatchSchema,
    PortalThreadCreateSchema,
    RemindersPutSchema,
    TaskCreateSchema,
    TaskPageSchema,
    TaskPatchSchema,
    TaskQuerySchema,
    TaskSchema,
    TemplateCreateSchema,
    TemplatePageSchema,
    TemplatePatchSchema,
    TemplateSchema,
    ThreadCreateSchema,
    ThreadDocumentPageSchema,
    ThreadPageSchema,
    ThreadQuerySchema,
    ThreadSchema,
)
from shared.contracts.documents import DOCUMENT_DELETED, DOCUMENT_UPDATED
from shared.dependencies import Database
from shared.entrypoints import event_handler, idempotent, write
from shared.errors import Forbidden, NotFound, ValidationFailed
from shared.events import EventLog
from shared.ids import parse_id
from shared.rpc import rpc
from shared.schemas import PageQuerySchema, schema, validated
from shared.service import PortaService
from shared.worker_limits import limit_workers

log = logging.getLogger(__name__)

# Seconds between two rounds of the reminder scheduler in each instance.
REMINDER_INTERVAL = 30.0


class ChatsService(PortaService):
    name = "chats"
    db = Database(messaging)
    clock = Clock()
    crm = RpcProxy("crm")
    documents = RpcProxy("documents")

    # -- who is calling --------------------------------------------------------------------------------

    def _principal(self) -> Principal:
        return require_principal(self.context.principal)

    def _thread(self, thread_id: Any, account_id: Any = None, *, staff_only: bool = False, lock: bool = False,
                right: str | None = None) -> tuple[Thread, Caller]:
        """The thread and the caller authorised on its account. A thread of an account hidden from him, or
        (portal paths) of another account than the path names, is an unknown thread."""
        principal = self._principal()
        if staff_only:
            principal.require_staff()
        thread = threads.get(self.db.session, uuid.UUID(principal.firm_id), parse_id(thread_id, "thread"), lock=lock)
        if account_id is not None:
            threads.in_account(thread, parse_id(account_id, "thread"))
        caller = authorize_as(threads.NO_SUCH_THREAD, self.crm, principal, thread.account_id, right)
        return thread, caller

    @staticmethod
    def _author(caller: Caller) -> threads.Author:
        return threads.Author(kind="client" if caller.client else "staff", id=caller.user_id,
                              name=str(caller.user.get("name") or caller.user.get("email") or ""))

    def _audience(self, firm_id: uuid.UUID, account_id: uuid.UUID) -> threads.Audience:
        return threads.Audience.from_crm(self.crm.chat_audience(firm_id=str(firm_id), account_id=str(account_id)))

    def _attachable(self, caller: Caller, document_ids: list[uuid.UUID]) -> list[threads.AttachedDocument]:
        """The documents named, if each is the account's and in a folder the client sees; attaching needs
        `manage_documents` from staff (the article's rule). 422 naming those that are not."""
        if not document_ids:
            return []
        if not caller.client:
            authorize(self.crm, self._principal(), caller.account_id, "manage_documents")
        account = str(caller.account_id)
        visible = {f["id"] for f in self.documents.list_folders(account_id=account)["items"]
                   if f["client_access"] in attachments.CLIENT_VISIBLE}
        found, refused = [], []
        for document_id in dict.fromkeys(document_ids):
            try:
                document = self.documents.get_document(document_id=str(document_id))
            except NotFound:
                refused.append(f"No such document: {document_id}.")
                continue
            if document["account_id"] != account or document["folder_id"] not in visible:
                refused.append(f"Document {document_id} is not in a folder the client sees.")
                continue
            found.append(threads.AttachedDocument(uuid.UUID(document["id"]), document["name"], document["size"],
                                                  document["content_type"]))
        if refused:
            raise ValidationFailed("Only the account's documents in client-visible folders can be attached.",
                                   {"document_ids": refused})
        return found

    def _dump_thread(self, thread: Thread, caller: Caller) -> dict:
        return schema(ThreadSchema).dump(threads.view(self.db.session, thread, "client" if caller.client else "staff"))

    # -- threads ---------------------------------------------------------------------------------------

    @rpc
    @write
    def start_thread(self, account_id: str, payload: dict) -> dict:
        """A new thread with its first message. Staff: owner, admins, or a member who sees the account; the
        account needs an activated client (409). A client: only while the firm lets clients start chats."""
        principal = self._principal()
        caller = authorize(self.crm, principal, account_id)
        now, events = self.clock(), EventLog()
        if caller.client:
            data = validated(schema(PortalThreadCreateSchema), payload)
            if not (caller.portal_settings or {}).get("clients_create_chats"):
                raise Forbidden("The firm does not let clients start chats.")
            audience = threads.Audience(account_name=caller.account.get("name", ""), firm_name="",
                                        clients_create_chats=True, chat_email_content=False)
            composed = {"subject": data["subject"], "body": data["body"], "tasks": [], "reminders": None}
            job_ids: list[uuid.UUID] = []
        else:
            data = validated(schema(ThreadCreateSchema), payload)
            audience = self._audience(caller.firm_id, caller.account_id)
            template = (templates.get(self.db.session, caller.firm_id, data["template_id"])
                        if data["template_id"] else None)
            composed = templates.compose(template, data, audience, now)
            job_ids = data["job_ids"]
        documents = self._attachable(caller, data["document_ids"])
        thread, _ = threads.start(self.db.session, firm_id=caller.firm_id, account_id=caller.account_id,
                                  author=self._author(caller), subject=composed["subject"], body=composed["body"],
                                  audience=audience, now=now, tasks=composed["tasks"],
                                  reminder_settings=composed["reminders"], job_ids=job_ids, documents=documents,
                                  log=events)
        self.db.emit_all(events)
        return self._dump_thread(thread, caller)

    @rpc
    def list_threads(self, account_id: str, query: dict) -> dict:
        params = validated(schema(ThreadQuerySchema), query)
        caller = authorize(self.crm, self._principal(), account_id)
        items, cursor = threads.list_threads(self.db.session, caller.firm_id, caller.account_id, params["archived"],
                                             params["limit"], params["cursor"])
        side = "client" if caller.client else "staff"
        return schema(ThreadPageSchema).dump({"items": threads.views(self.db.session, items, side),
                                              "next_cursor": cursor})

    @rpc
    def get_thread(self, thread_id: str, account_id: str | None = None) -> dict:
        thread, caller = self._thread(thread_id, account_id)
        return self._dump_thread(thread, caller)

    @rpc
    @write
    def archive_thread(self, thread_id: str) -> dict:
        thread, caller = self._thread(thread_id, staff_only=True, lock=True)
        events = EventLog()
        threads.archive(thread, self.clock(), events)
        self.db.emit_all(events)
        return self._dump_thread(thread, caller)

    @rpc
    @write
    def unarchive_thread(self, thread_id: str) -> dict:
        thread, caller = self._thread(thread_id, staff_only=True, lock=True)
        events = EventLog()
        threads.unarchive(self.db.session, thread, self.clock(), events)
        self.db.emit_all(events)
        return self._dump_thread(thread, caller)

    @rpc
    @write
    def set_reminders(self, thread_id: str, payload: dict) -> dict:
        data = validated(schema(RemindersPutSchema), payload)
        thread, caller = self._thread(thread_id, staff_only=True, lock=True)
        events = EventLog()
        threads.set_reminders(self.db.session, thread, data, self.clock(), events)
        self.db.emit_all(events)
        return self._dump_thread(thread, caller)

    # -- messages --------------------------------------------------------------------------------------

    @rpc
    @idempotent  # a staff member reading marks the client's messages read: harmless to repeat
    def list_messages(self, thread_id: str, query: dict, account_id: str | None = None) -> dict:
        """Newest first. A staff member's read marks the client's messages read (`unread` on his side);
        a client marks the staff's read with `mark_read` (the portal's `POST chats/{id}/read`)."""
        params = validated(schema(PageQuerySchema), query)
        thread, caller = self._thread(thread_id, account_id)
        if not caller.client:
            events = EventLog()
            threads.mark_read(self.db.session, thread, self._author(caller), self.clock(), events)
            self.db.emit_all(events)
        items, cursor = threads.list_messages(self.db.session, thread, params["limit"], params["cursor"])
        return schema(MessagePageSchema).dump({"items": items, "next_cursor": cursor})

    @rpc
    @write
    def post_message(self, thread_id: str, payload: dict, account_id: str | None = None) -> dict:
        data = validated(schema(MessageCreateSchema), payload)
        thread, caller = self._thread(thread_id, account_id, lock=True)
        author = self._author(caller)
        audience = (threads.Audience(account_name="", firm_name="", clients_create_chats=False,
                                     chat_email_content=False) if caller.client
                    else self._audience(caller.firm_id, caller.account_id))
        documents = self._attachable(caller, data["document_ids"])
        events = EventLog()
        message = threads.post(self.db.session, thread, author, data["body"], documents, audience, self.clock(),
                               events)
        self.db.emit_all(events)
        return schema(MessageSchema).dump(message)

    @rpc
    @write
    def mark_read(self, thread_id: str, account_id: str | None = None) -> dict:
        """The caller's side has read the other side's messages -> the thread."""
        thread, caller = self._thread(thread_id, account_id, lock=True)
        events = EventLog()
        threads.mark_read(self.db.session, thread, self._author(caller), self.clock(), events)
        self.db.emit_all(events)
        return self._dump_thread(thread, caller)

    # -- attachments and the Documents tab -------------------------------------------------------------

    @rpc
    def attachment_target(self, thread_id: str, query: dict) -> dict:
        """Before the gateway streams an attachment into documents: the thread's account, once the folder is
        found client-visible and the caller may upload -> `{account_id, folder_id}`."""
        data = validated(schema(AttachmentQuerySchema), query)
        thread, caller = self._thread(thread_id, staff_only=True, right="manage_documents")
        folders = self.documents.list_folders(account_id=str(thread.account_id))["items"]
        folder = next((f for f in folders if f["id"] == str(data["folder_id"])), None)
        if folder is None:
            raise ValidationFailed("No such folder of the account.", {"folder_id": ["No such folder."]})
        if folder["client_access"] not in attachments.CLIENT_VISIBLE:
            raise ValidationFailed("Attachments go into a folder the client sees.",
                                   {"folder_id": ["The client cannot see this folder."]})
        return {"account_id": str(caller.account_id), "folder_id": folder["id"]}

    @rpc
    def list_thread_documents(self, thread_id: str, query: dict) -> dict:
        params = validated(schema(PageQuerySchema), query)
        thread, _ = self._thread(thread_id, staff_only=True)
        items, cursor = threads.list_documents(self.db.session, thread, params["limit"], params["cursor"])
        return schema(ThreadDocumentPageSchema).dump({"items": items, "next_cursor": cursor})

    @event_handler(DOCUMENT_DELETED)
    def on_document_deleted(self, event: dict) -> None:
        """A deleted document leaves every thread it was attached in."""
        events = EventLog()
        attachments.forget_document(self.db.session, parse_id(event["firm_id"], "firm"),
                                    parse_id(event["data"]["document"]["id"], "document"), events)
        self.db.emit_all(events)

    @event_handler(DOCUMENT_UPDATED)
    def on_document_updated(self, event: dict) -> None:
        """A renamed document shows its new name in the Documents tabs."""
        document = event["data"]["document"]
        if "name" in event["data"].get("changed", []):
            attachments.rename_document(self.db.session, parse_id(event["firm_id"], "firm"),
                                        parse_id(document["id"], "document"), document["name"])

    # -- client tasks ----------------------------------------------------------------------------------

    @rpc
    @write
    def add_task(self, thread_id: str, payload: dict) -> dict:
        data = validated(schema(TaskCreateSchema), payload)
        thread, _ = self._thread(thread_id, staff_only=True, lock=True)
        events = EventLog()
        task = threads.add_task(self.db.session, thread, data["title"], self.clock(), events)
        self.db.emit_all(events)
        return schema(TaskSchema).dump(task)

    @rpc
    @write
    def update_task(self, thread_id: str, task_id: str, payload: dict, account_id: str | None = None) -> dict:
        """Staff rename and tick; a client only ticks and unticks (`{done}`)."""
        thread, caller = self._thread(thread_id, account_id, lock=True)
        data = validated(schema(PortalTaskPatchSchema) if caller.client else schema(TaskPatchSchema), payload)
        task = threads.get_task(self.db.session, thread, parse_id(task_id, "task"))
        events = EventLog()
        threads.update_task(self.db.session, thread, task, data, self._author(caller), self.clock(), events)
        self.db.emit_all(events)
        return schema(TaskSchema).dump(task)

    @rpc
    @write
    def delete_task(self, thread_id: str, task_id: str) -> None:
        thread, _ = self._thread(thread_id, staff_only=True, lock=True)
        task = threads.get_task(self.db.session, thread, parse_id(task_id, "task"))
        events = EventLog()
        threads.delete_task(self.db.session, thread, task, events)
        self.db.emit_all(events)

    @rpc
    def list_tasks(self, query: dict, account_id: str | None = None) -> dict:
        """Client tasks across threads with progress: a staff member's over the accounts he sees (or one
        of them, `query.account_id`); a client's over the account his portal path names."""
        params = validated(schema(TaskQuerySchema), query)
        principal = self._principal()
        account = account_id if account_id is not None else params["account_id"]
        if principal.kind == "client" and account is None:
            raise NotFound("No such account.")
        if account is not None:
            caller = authorize(self.crm, principal, account)
            accounts: set[uuid.UUID] | None = {caller.account_id}
        else:
            visible = self.crm.list_visible_account_ids()
            accounts = None if visible["all"] else {uuid.UUID(i) for i in visible["ids"]}
        items, cursor, overall = threads.list_tasks(self.db.session, uuid.UUID(principal.firm_id), accounts,
                                                    params["done"], params["limit"], params["cursor"])
        return schema(TaskPageSchema).dump({"items": items, "next_cursor": cursor, "progress": overall})

    # -- templates -------------------------------------------------------------------------------------

    def _staff_firm(self) -> uuid.UUID:
        return uuid.UUID(self._principal().require_staff().firm_id)

    @rpc
    @write
    def create_template(self, payload: dict) -> dict:
        data = validated(schema(TemplateCreateSchema), payload)
        return schema(TemplateSchema).dump(templates.create(self.db.session, self._staff_firm(), data, self.clock()))

    @rpc
    def list_templates(self, query: dict) -> dict:
        params = validated(schema(PageQuerySchema), query)
        items, cursor = templates.list_templates(self.db.session, self._staff_firm(), params["limit"],
                                                 params["cursor"])
        return schema(TemplatePageSchema).dump({"items": items, "next_cursor": cursor})

    @rpc
    def get_template(self, template_id: str) -> dict:
        return schema(TemplateSchema).dump(templates.get(self.db.session, self._staff_firm(),
                                                   parse_id(template_id, "chat template")))

    @rpc
    @write
    def update_template(self, template_id: str, payload: dict) -> dict:
        data = validated(schema(TemplatePatchSchema), payload)
        template = templates.get(self.db.session, self._staff_firm(), parse_id(template_id, "chat template"),
                                 lock=True)
        return schema(TemplateSchema).dump(templates.update(self.db.session, template, data, self.clock()))

    @rpc
    @write
    def delete_template(self, template_id: str) -> None:
        template = templates.get(self.db.session, self._staff_firm(), parse_id(template_id, "chat template"),
                                 lock=True)
        templates.delete(self.db.session, template)

    # -- the firm's chat settings (crm keeps them with the portal settings) ------------------------------

    @rpc
    def get_chat_settings(self) -> dict:
        self._principal().require_staff()
        return schema(ChatSettingsSchema).dump(self.crm.get_portal_settings())

    @rpc
    def update_chat_settings(self, payload: dict) -> dict:
        """Owner and admins (crm decides); crm records each change in the activity feed."""
        data = validated(schema(ChatSettingsPatchSchema), payload)
        self._principal().require_staff()
        return schema(ChatSettingsSchema).dump(self.crm.update_portal_settings(payload=data))

    # -- the reminder scheduler ------------------------------------------------------------------------

    @timer(interval=REMINDER_INTERVAL)
    @idempotent  # SKIP LOCKED: instances running side by side claim different threads
    def send_reminders(self) -> int:
        """One round of due reminders (chats.scheduler), at this instance's clock."""
        events = EventLog()
        sent = scheduler.run_once(self.db.session, self.clock(), self._audience, events)
        self.db.emit_all(events)
        if sent:
            log.info("sent %d chat reminders", sent)
        return sent


    # -- bulk messages (chats/bulk.py) -----------------------------------------------------------------

    @rpc
    @write
    def start_bulk(self, payload: dict) -> dict:
        """One thread per account, made in the background: the job (`queued`) and its batches' events."""
        staff = self._principal().require_staff()
        data = validated(schema(BulkCreateSchema), payload)
        job, events = bulk.create(self.db.session, firm_id=uuid.UUID(staff.firm_id),
                                  created_by=uuid.UUID(staff.user_id), account_ids=data["account_ids"],
                                  subject=data["subject"], body=data["body"], template_id=data["template_id"],
                                  now=self.clock())
        self.db.emit_all(events)
        return schema(BulkJobSchema).dump(bulk.view(self.db.session, job))

    @rpc
    def get_bulk(self, job_id: str) -> dict:
        """A job's progress and failures: for the staff member who started it, the owner and admins."""
        staff = self._principal().require_staff()
        job = bulk.get_job(self.db.session, uuid.UUID(staff.firm_id), parse_id(job_id, "bulk message"))
        if str(job.created_by) != staff.user_id and self.crm.me()["role"] not in ("owner", "admin"):
            raise NotFound(bulk.NO_SUCH_JOB)
        return schema(BulkJobSchema).dump(bulk.view(self.db.session, job))

    @limit_workers(bulk.BATCH_WORKERS)
    @event_handler(BULK_BATCH_QUEUED)
    def on_bulk_batch_queued(self, event: dict) -> None:
        """Make one batch's threads, as the staff member who started the job (the event carries his call's
        context: crm decides per account whether he may, as for one thread)."""
        job = bulk.get_job(self.db.session, uuid.UUID(event["firm_id"]), parse_id(event["data"]["job_id"], "job"))
        principal = self._principal()
        now = self.clock()
        template = None
        if job.template_id is not None:
            with contextlib.suppress(NotFound):  # deleted since: each account fails saying so
                template = templates.get(self.db.session, job.firm_id, job.template_id)
        request = {"subject": job.subject, "body": job.body, "tasks": None, "reminders": None}

        def make_thread(account_id: uuid.UUID) -> uuid.UUID:
            if template is None and job.template_id is not None:
                raise NotFound("The chat template was deleted.")
            caller = authorize(self.crm, principal, account_id)
            audience = self._audience(caller.firm_id, caller.account_id)
            composed = templates.compose(template, request, audience, now)
            events = EventLog()
            thread, _ = threads.start(self.db.session, firm_id=caller.firm_id, account_id=caller.account_id,
                                      author=self._author(caller), subject=composed["subject"],
                                      body=composed["body"], audience=audience, now=now, tasks=composed["tasks"],
                                      reminder_settings=composed["reminders"], log=events)
            self.db.emit_all(events)  # inside the account's savepoint: a refused account leaves no event
            return thread.id

        bulk.run_batch(self.db.session, job, int(event["data"]["batch"]), make_thread, now)
