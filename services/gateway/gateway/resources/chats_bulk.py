"""Bulk messages (chats service): one thread per account, made in the background."""
from __future__ import annotations

from typing import Any

import falcon

from gateway.openapi import operation
from shared.contracts.chats import BULK_ACCOUNTS_MAX, BulkCreateSchema, BulkJobSchema


class BulkChats:
    auth = "staff"

    def __init__(self, rpc: Any) -> None:
        self.rpc = rpc

    @operation(f"Send one message to many accounts (up to {BULK_ACCOUNTS_MAX:,}): a thread per account, personalised "
               "by the template's shortcodes, made in the background. Answers at once with the job; "
               "`GET /api/v1/chats/bulk/{id}` shows its progress and, per account, why it failed (an account "
               "the caller may not see, one without an activated client...)",
               body=BulkCreateSchema, response=BulkJobSchema, status=202)
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.status = falcon.HTTP_202
        resp.media = self.rpc.call("chats", "start_bulk", context=req.context.call_context, payload=req.get_media())


class BulkChat:
    auth = "staff"

    def __init__(self, rpc: Any) -> None:
        self.rpc = rpc

    @operation("A bulk message's progress: `status`, `total`, `done`, `failed` and the failures with their reasons "
               "(for the staff member who sent it, the owner and admins)", response=BulkJobSchema)
    def on_get(self, req: falcon.Request, resp: falcon.Response, bulk_id: Any) -> None:
        resp.media = self.rpc.call("chats", "get_bulk", context=req.context.call_context, job_id=str(bulk_id))
