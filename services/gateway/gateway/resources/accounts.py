"""The firm's client accounts (crm)."""
from __future__ import annotations

from typing import Any

import falcon

from gateway.openapi import operation
from gateway.resources.paging import page_query
from shared.contracts.crm import (
    AccountCreateSchema,
    AccountPageSchema,
    AccountPatchSchema,
    AccountQuerySchema,
    AccountSchema,
)


class AccountsCollection:
    auth = "staff"

    def __init__(self, rpc: Any) -> None:
        self.rpc = rpc

    @operation("Accounts the caller may see, newest first; `q` searches names", query=AccountQuerySchema,
               response=AccountPageSchema, errors=(422,))
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = self.rpc.call("crm", "list_accounts", context=req.context.call_context,
                                   query=page_query(req, "q"))

    @operation("Create an account (`guest: true` for a non-client)", body=AccountCreateSchema,
               response=AccountSchema, status=201)
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = self.rpc.call("crm", "create_account", context=req.context.call_context,
                                   payload=req.get_media())
        resp.status = falcon.HTTP_201


class Account:
    auth = "staff"

    def __init__(self, rpc: Any) -> None:
        self.rpc = rpc

    @operation("One account", response=AccountSchema)
    def on_get(self, req: falcon.Request, resp: falcon.Response, account_id: Any) -> None:
        resp.media = self.rpc.call("crm", "get_account", context=req.context.call_context,
                                   account_id=str(account_id))

    @operation("Rename an account or change its type", body=AccountPatchSchema, response=AccountSchema)
    def on_patch(self, req: falcon.Request, resp: falcon.Response, account_id: Any) -> None:
        resp.media = self.rpc.call("crm", "update_account", context=req.context.call_context,
                                   account_id=str(account_id), payload=req.get_media())

    @operation("Delete an account", status=204)
    def on_delete(self, req: falcon.Request, resp: falcon.Response, account_id: Any) -> None:
        self.rpc.call("crm", "delete_account", context=req.context.call_context, account_id=str(account_id))
        resp.status = falcon.HTTP_204
