"""The client portal: what a client user reaches, always naming one of his accounts."""
from __future__ import annotations

from typing import Any

import falcon

from crm.schemas import AccountListSchema
from gateway.openapi import operation


class PortalAccounts:
    auth = "client"

    def __init__(self, rpc: Any) -> None:
        self.rpc = rpc

    @operation("Every account this client user may open", response=AccountListSchema)
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = self.rpc.call("crm", "list_portal_accounts", context=req.context.call_context)
