"""The staff member's Inbox+ (notifications)."""
from __future__ import annotations

from typing import Any

import falcon

from gateway.openapi import operation
from gateway.resources.paging import page_query
from shared.contracts.notifications import InboxItemSchema, InboxPageSchema, InboxQuerySchema


class Inbox:
    auth = "staff"

    def __init__(self, rpc: Any) -> None:
        self.rpc = rpc

    @operation("The caller's Inbox+, latest activity first", query=InboxQuerySchema, response=InboxPageSchema,
               errors=(422,),
               description="What needs the caller's attention: one item per subject (a file request, an "
                           "account's portal uploads) for each staff member told about it, updated as things "
                           "happen (\"3 files received for “W-2 for 2025”\"). Each change moves the item to "
                           "the top and makes it unread again. `unread=true` lists only unread items.")
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = self.rpc.call("notifications", "list_inbox", context=req.context.call_context,
                                   query=page_query(req, "unread"))


class InboxItemRead:
    auth = "staff"

    def __init__(self, rpc: Any) -> None:
        self.rpc = rpc

    @operation("Mark one of the caller's Inbox+ items read", response=InboxItemSchema,
               description="Until the next change to its subject. Marking it again changes nothing. Another "
                           "user's item is 404.")
    def on_post(self, req: falcon.Request, resp: falcon.Response, item_id: Any) -> None:
        resp.media = self.rpc.call("notifications", "mark_inbox_read", context=req.context.call_context,
                                   item_id=str(item_id))
