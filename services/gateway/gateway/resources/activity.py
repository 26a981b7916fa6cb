"""The activity feed (notifications)."""
from __future__ import annotations

from typing import Any

import falcon

from gateway.openapi import operation
from gateway.resources.paging import page_query
from shared.contracts.notifications import ActivityPageSchema, ActivityQuerySchema


class Activity:
    auth = "staff"

    def __init__(self, rpc: Any) -> None:
        self.rpc = rpc

    @operation("The firm's activity feed, newest first", query=ActivityQuerySchema, response=ActivityPageSchema,
               errors=(422,),
               description="What happened in the firm (accounts, contacts, team, portal access, links...), one "
                           "entry per change. `account_id` narrows it to one account; an account of another "
                           "firm simply has no entries.")
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = self.rpc.call("notifications", "list_activity", context=req.context.call_context,
                                   query=page_query(req, "account_id"))
