"""The client portal's Chats & tasks (chats service): the threads of one of his accounts, their messages,
and the tasks he ticks. Every path names the account; a thread of another account is not found."""
from __future__ import annotations

from typing import Any

import falcon

from gateway.openapi import operation
from gateway.resources.paging import page_query
from shared.contracts.chats import (
    MessageCreateSchema,
    MessagePageSchema,
    MessageSchema,
    PortalTaskPatchSchema,
    PortalThreadCreateSchema,
    TaskPageSchema,
    TaskQuerySchema,
    TaskSchema,
    ThreadPageSchema,
    ThreadQuerySchema,
    ThreadSchema,
)
from shared.schemas import PageQuerySchema


def _call(rpc: Any, req: falcon.Request, method: str, **kwargs: Any) -> Any:
    return rpc.call("chats", method, context=req.context.call_context, **kwargs)


class PortalChats:
    auth = "client"

    def __init__(self, rpc: Any) -> None:
        self.rpc = rpc

    @operation("The account's chat threads, newest first; `unread` counts the firm's messages not read yet",
               query=ThreadQuerySchema, response=ThreadPageSchema, errors=(422,))
    def on_get(self, req: falcon.Request, resp: falcon.Response, account_id: Any) -> None:
        resp.media = _call(self.rpc, req, "list_threads", account_id=str(account_id),
                           query=page_query(req, "archived"))

    @operation("Start a thread (only while the firm lets clients start chats, else 403)",
               body=PortalThreadCreateSchema, response=ThreadSchema, status=201, errors=(403,))
    def on_post(self, req: falcon.Request, resp: falcon.Response, account_id: Any) -> None:
        resp.media = _call(self.rpc, req, "start_thread", account_id=str(account_id), payload=req.get_media())
        resp.status = falcon.HTTP_201


class PortalChatMessages:
    auth = "client"

    def __init__(self, rpc: Any) -> None:
        self.rpc = rpc

    @operation("The thread's messages, newest first", query=PageQuerySchema, response=MessagePageSchema,
               errors=(422,))
    def on_get(self, req: falcon.Request, resp: falcon.Response, account_id: Any, thread_id: Any) -> None:
        resp.media = _call(self.rpc, req, "list_messages", thread_id=str(thread_id), account_id=str(account_id),
                           query=page_query(req))

    @operation("Reply in the thread; documents of client-visible folders may be attached", body=MessageCreateSchema,
               response=MessageSchema, status=201)
    def on_post(self, req: falcon.Request, resp: falcon.Response, account_id: Any, thread_id: Any) -> None:
        resp.media = _call(self.rpc, req, "post_message", thread_id=str(thread_id), account_id=str(account_id),
                           payload=req.get_media())
        resp.status = falcon.HTTP_201


class PortalChatRead:
    auth = "client"

    def __init__(self, rpc: Any) -> None:
        self.rpc = rpc

    @operation("Mark the firm's messages in the thread read", response=ThreadSchema)
    def on_post(self, req: falcon.Request, resp: falcon.Response, account_id: Any, thread_id: Any) -> None:
        resp.media = _call(self.rpc, req, "mark_read", thread_id=str(thread_id), account_id=str(account_id))


class PortalTasks:
    auth = "client"

    def __init__(self, rpc: Any) -> None:
        self.rpc = rpc

    @operation("The account's client tasks across its threads, newest first, with progress",
               query=TaskQuerySchema, response=TaskPageSchema, errors=(422,))
    def on_get(self, req: falcon.Request, resp: falcon.Response, account_id: Any) -> None:
        resp.media = _call(self.rpc, req, "list_tasks", account_id=str(account_id), query=page_query(req, "done"))


class PortalChatTask:
    auth = "client"

    def __init__(self, rpc: Any) -> None:
        self.rpc = rpc

    @operation("Tick or untick a task", body=PortalTaskPatchSchema, response=TaskSchema)
    def on_patch(self, req: falcon.Request, resp: falcon.Response, account_id: Any, thread_id: Any,
                 task_id: Any) -> None:
        resp.media = _call(self.rpc, req, "update_task", thread_id=str(thread_id), task_id=str(task_id),
                           account_id=str(account_id), payload=req.get_media())
