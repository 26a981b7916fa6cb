"""Chats for staff (chats service): threads on accounts, messages, attachments, client tasks, reminders,
templates, and the firm's chat settings."""
from __future__ import annotations

from typing import Any

import falcon

from gateway.openapi import operation
from gateway.resources.documents import UPLOAD_ERRORS, upload_documents
from gateway.resources.paging import page_query
from gateway.transfer import FileTransfer
from shared.contracts.chats import (
    AttachmentQuerySchema,
    ChatSettingsPatchSchema,
    ChatSettingsSchema,
    MessageCreateSchema,
    MessagePageSchema,
    MessageSchema,
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
from shared.schemas import PageQuerySchema


def _call(rpc: Any, req: falcon.Request, method: str, **kwargs: Any) -> Any:
    return rpc.call("chats", method, context=req.context.call_context, **kwargs)


class AccountChats:
    auth = "staff"

    def __init__(self, rpc: Any) -> None:
        self.rpc = rpc

    @operation("The account's chat threads, newest first", query=ThreadQuerySchema, response=ThreadPageSchema,
               errors=(422,))
    def on_get(self, req: falcon.Request, resp: falcon.Response, account_id: Any) -> None:
        resp.media = _call(self.rpc, req, "list_threads", account_id=str(account_id),
                           query=page_query(req, "archived"))

    @operation("Start a thread with its first message (owner, admins, or a member who sees the account); a "
               "template fills in what the body leaves out. 409 when no client of the account has an "
               "activated portal account", body=ThreadCreateSchema, response=ThreadSchema, status=201,
               errors=(403, 409))
    def on_post(self, req: falcon.Request, resp: falcon.Response, account_id: Any) -> None:
        resp.media = _call(self.rpc, req, "start_thread", account_id=str(account_id), payload=req.get_media())
        resp.status = falcon.HTTP_201


class Chat:
    auth = "staff"

    def __init__(self, rpc: Any) -> None:
        self.rpc = rpc

    @operation("A thread: its tasks, reminders, jobs and what the firm has not read", response=ThreadSchema)
    def on_get(self, req: falcon.Request, resp: falcon.Response, thread_id: Any) -> None:
        resp.media = _call(self.rpc, req, "get_thread", thread_id=str(thread_id))


class ChatMessages:
    auth = "staff"

    def __init__(self, rpc: Any) -> None:
        self.rpc = rpc

    @operation("The thread's messages, newest first; reading them marks the client's messages read",
               query=PageQuerySchema, response=MessagePageSchema, errors=(422,))
    def on_get(self, req: falcon.Request, resp: falcon.Response, thread_id: Any) -> None:
        resp.media = _call(self.rpc, req, "list_messages", thread_id=str(thread_id), query=page_query(req))

    @operation("Write in the thread (Markdown subset, `@Name` mentions, video links); attach documents of "
               "client-visible folders (needs manage_documents)", body=MessageCreateSchema,
               response=MessageSchema, status=201, errors=(403,))
    def on_post(self, req: falcon.Request, resp: falcon.Response, thread_id: Any) -> None:
        resp.media = _call(self.rpc, req, "post_message", thread_id=str(thread_id), payload=req.get_media())
        resp.status = falcon.HTTP_201


class ChatAttachments:
    auth = "staff"

    def __init__(self, rpc: Any, transfer: FileTransfer) -> None:
        self.rpc = rpc
        self.transfer = transfer

    @operation("Upload files into a client-visible folder of the thread's account and attach them in one "
               "message (a .zip is unpacked, and all its files attached); needs manage_documents",
               query=AttachmentQuerySchema, response=MessageSchema, status=201, files=True,
               errors=(403, *UPLOAD_ERRORS))
    def on_post(self, req: falcon.Request, resp: falcon.Response, thread_id: Any) -> None:
        target = _call(self.rpc, req, "attachment_target", thread_id=str(thread_id),
                       query={"folder_id": req.get_param("folder_id") or ""})
        stored = upload_documents(req, self.rpc, self.transfer, target["account_id"])
        resp.media = _call(self.rpc, req, "post_message", thread_id=str(thread_id),
                           payload={"body": "", "document_ids": [document["id"] for document in stored]})
        resp.status = falcon.HTTP_201


class ChatDocuments:
    auth = "staff"

    def __init__(self, rpc: Any) -> None:
        self.rpc = rpc

    @operation("The thread's Documents tab: every document attached in it, newest first", query=PageQuerySchema,
               response=ThreadDocumentPageSchema, errors=(422,))
    def on_get(self, req: falcon.Request, resp: falcon.Response, thread_id: Any) -> None:
        resp.media = _call(self.rpc, req, "list_thread_documents", thread_id=str(thread_id), query=page_query(req))


class ChatTasks:
    auth = "staff"

    def __init__(self, rpc: Any) -> None:
        self.rpc = rpc

    @operation("Add a client task to the thread's checklist", body=TaskCreateSchema, response=TaskSchema,
               status=201, errors=(409,))
    def on_post(self, req: falcon.Request, resp: falcon.Response, thread_id: Any) -> None:
        resp.media = _call(self.rpc, req, "add_task", thread_id=str(thread_id), payload=req.get_media())
        resp.status = falcon.HTTP_201


class ChatTask:
    auth = "staff"

    def __init__(self, rpc: Any) -> None:
        self.rpc = rpc

    @operation("Rename a client task, or tick or untick it", body=TaskPatchSchema, response=TaskSchema)
    def on_patch(self, req: falcon.Request, resp: falcon.Response, thread_id: Any, task_id: Any) -> None:
        resp.media = _call(self.rpc, req, "update_task", thread_id=str(thread_id), task_id=str(task_id),
                           payload=req.get_media())

    @operation("Remove a client task", status=204)
    def on_delete(self, req: falcon.Request, resp: falcon.Response, thread_id: Any, task_id: Any) -> None:
        _call(self.rpc, req, "delete_task", thread_id=str(thread_id), task_id=str(task_id))
        resp.status = falcon.HTTP_204


class ChatReminders:
    auth = "staff"

    def __init__(self, rpc: Any) -> None:
        self.rpc = rpc

    @operation("Set the thread's reminders (counted from now, none sent yet)", body=RemindersPutSchema,
               response=ThreadSchema)
    def on_put(self, req: falcon.Request, resp: falcon.Response, thread_id: Any) -> None:
        resp.media = _call(self.rpc, req, "set_reminders", thread_id=str(thread_id), payload=req.get_media())


class ChatArchive:
    auth = "staff"

    def __init__(self, rpc: Any) -> None:
        self.rpc = rpc

    @operation("Archive the thread: no reminders while archived", response=ThreadSchema)
    def on_post(self, req: falcon.Request, resp: falcon.Response, thread_id: Any) -> None:
        resp.media = _call(self.rpc, req, "archive_thread", thread_id=str(thread_id))


class ChatUnarchive:
    auth = "staff"

    def __init__(self, rpc: Any) -> None:
        self.rpc = rpc

    @operation("Open the thread again: reminders start over as if the last message were new",
               response=ThreadSchema)
    def on_post(self, req: falcon.Request, resp: falcon.Response, thread_id: Any) -> None:
        resp.media = _call(self.rpc, req, "unarchive_thread", thread_id=str(thread_id))


class Tasks:
    auth = "staff"

    def __init__(self, rpc: Any) -> None:
        self.rpc = rpc

    @operation("Client tasks across the threads of the accounts the caller sees, newest first, with progress; "
               "an `account_id` he cannot see is a 404", query=TaskQuerySchema, response=TaskPageSchema,
               errors=(404, 422))
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = _call(self.rpc, req, "list_tasks", query=page_query(req, "account_id", "done"))


class ChatTemplates:
    auth = "staff"

    def __init__(self, rpc: Any) -> None:
        self.rpc = rpc

    @operation("The firm's chat templates, newest first", query=PageQuerySchema, response=TemplatePageSchema,
               errors=(422,))
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = _call(self.rpc, req, "list_templates", query=page_query(req))

    @operation("Make a chat template; an unknown shortcode is a 422 naming it", body=TemplateCreateSchema,
               response=TemplateSchema, status=201)
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = _call(self.rpc, req, "create_template", payload=req.get_media())
        resp.status = falcon.HTTP_201


class ChatTemplate:
    auth = "staff"

    def __init__(self, rpc: Any) -> None:
        self.rpc = rpc

    @operation("A chat template", response=TemplateSchema)
    def on_get(self, req: falcon.Request, resp: falcon.Response, template_id: Any) -> None:
        resp.media = _call(self.rpc, req, "get_template", template_id=str(template_id))

    @operation("Change a chat template; an unknown shortcode is a 422 naming it", body=TemplatePatchSchema,
               response=TemplateSchema)
    def on_patch(self, req: falcon.Request, resp: falcon.Response, template_id: Any) -> None:
        resp.media = _call(self.rpc, req, "update_template", template_id=str(template_id), payload=req.get_media())

    @operation("Delete a chat template (threads made from it stay)", status=204)
    def on_delete(self, req: falcon.Request, resp: falcon.Response, template_id: Any) -> None:
        _call(self.rpc, req, "delete_template", template_id=str(template_id))
        resp.status = falcon.HTTP_204


class ChatSettings:
    auth = "staff"

    def __init__(self, rpc: Any) -> None:
        self.rpc = rpc

    @operation("Whether clients may start chats, and whether emails about new messages show their content",
               response=ChatSettingsSchema)
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = _call(self.rpc, req, "get_chat_settings")

    @operation("Change the chat settings (owner and admins); each change goes to the activity feed",
               body=ChatSettingsPatchSchema, response=ChatSettingsSchema)
    def on_patch(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = _call(self.rpc, req, "update_chat_settings", payload=req.get_media())
