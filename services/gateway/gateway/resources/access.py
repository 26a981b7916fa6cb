"""Portal access per (account, email), invitations and notification categories (crm)."""
from __future__ import annotations

from typing import Any

import falcon

from gateway.openapi import operation
from shared.contracts.crm import AccessListSchema, AccessPatchSchema, AccessSchema, BulkAccessSchema, CategoriesSchema


class AccountAccess:
    auth = "staff"

    def __init__(self, rpc: Any) -> None:
        self.rpc = rpc

    @operation("One row per email of every linked contact", response=AccessListSchema)
    def on_get(self, req: falcon.Request, resp: falcon.Response, account_id: Any) -> None:
        resp.media = self.rpc.call("crm", "list_access", context=req.context.call_context,
                                   account_id=str(account_id))


class AccessEntry:
    auth = "staff"

    def __init__(self, rpc: Any) -> None:
        self.rpc = rpc

    @operation("Switch LOGIN, NOTIFY or EMAIL SYNC; LOGIN on sends an invitation, off removes access at once",
               body=AccessPatchSchema, response=AccessSchema, errors=(409,))
    def on_patch(self, req: falcon.Request, resp: falcon.Response, account_id: Any, email: str) -> None:
        resp.media = self.rpc.call("crm", "update_access", context=req.context.call_context,
                                   account_id=str(account_id), email=email, payload=req.get_media())


class Reinvite:
    auth = "staff"

    def __init__(self, rpc: Any) -> None:
        self.rpc = rpc

    @operation("Send a fresh invitation; earlier ones stop working", response=AccessSchema, errors=(409,))
    def on_post(self, req: falcon.Request, resp: falcon.Response, account_id: Any, email: str) -> None:
        resp.media = self.rpc.call("crm", "reinvite", context=req.context.call_context,
                                   account_id=str(account_id), email=email)


class BulkAccess:
    auth = "staff"

    def __init__(self, rpc: Any) -> None:
        self.rpc = rpc

    @operation("Update up to 1,000 (account, email) rows; all or nothing (404 when one names an unknown account "
               "or email)", body=BulkAccessSchema, response=AccessListSchema, errors=(404, 409))
    def on_patch(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = self.rpc.call("crm", "bulk_update_access", context=req.context.call_context,
                                   payload=req.get_media())


class NotificationCategories:
    auth = "staff"

    def __init__(self, rpc: Any) -> None:
        self.rpc = rpc

    @operation("Which notifications this email gets for this account", response=CategoriesSchema)
    def on_get(self, req: falcon.Request, resp: falcon.Response, account_id: Any, email: str) -> None:
        resp.media = self.rpc.call("crm", "get_notification_categories", context=req.context.call_context,
                                   account_id=str(account_id), email=email)

    @operation("Turn notification categories on or off", body=CategoriesSchema, response=CategoriesSchema)
    def on_put(self, req: falcon.Request, resp: falcon.Response, account_id: Any, email: str) -> None:
        resp.media = self.rpc.call("crm", "set_notification_categories", context=req.context.call_context,
                                   account_id=str(account_id), email=email, payload=req.get_media())
