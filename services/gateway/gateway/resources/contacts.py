"""Contacts and their links to accounts (crm)."""
from __future__ import annotations

from typing import Any

import falcon

from gateway.openapi import operation
from shared.contracts.crm import ContactCreateSchema, ContactLinkSchema, ContactPatchSchema, ContactSchema


class ContactsCollection:
    auth = "staff"

    def __init__(self, rpc: Any) -> None:
        self.rpc = rpc

    @operation("Create a contact: a person with any number of emails", body=ContactCreateSchema,
               response=ContactSchema, status=201, errors=(409,))
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = self.rpc.call("crm", "create_contact", context=req.context.call_context,
                                   payload=req.get_media())
        resp.status = falcon.HTTP_201


class Contact:
    auth = "staff"

    def __init__(self, rpc: Any) -> None:
        self.rpc = rpc

    @operation("One contact", response=ContactSchema)
    def on_get(self, req: falcon.Request, resp: falcon.Response, contact_id: Any) -> None:
        resp.media = self.rpc.call("crm", "get_contact", context=req.context.call_context,
                                   contact_id=str(contact_id))

    @operation("Change a contact; a changed address with a pending invitation is invited anew",
               body=ContactPatchSchema, response=ContactSchema, errors=(409,))
    def on_patch(self, req: falcon.Request, resp: falcon.Response, contact_id: Any) -> None:
        resp.media = self.rpc.call("crm", "update_contact", context=req.context.call_context,
                                   contact_id=str(contact_id), payload=req.get_media())


class AccountContacts:
    auth = "staff"

    def __init__(self, rpc: Any) -> None:
        self.rpc = rpc

    @operation("Link a contact to the account", body=ContactLinkSchema, response=ContactSchema, status=201)
    def on_post(self, req: falcon.Request, resp: falcon.Response, account_id: Any) -> None:
        resp.media = self.rpc.call("crm", "link_contact", context=req.context.call_context,
                                   account_id=str(account_id), payload=req.get_media())
        resp.status = falcon.HTTP_201


class AccountContact:
    auth = "staff"

    def __init__(self, rpc: Any) -> None:
        self.rpc = rpc

    @operation("Unlink a contact from the account", status=204)
    def on_delete(self, req: falcon.Request, resp: falcon.Response, account_id: Any, contact_id: Any) -> None:
        self.rpc.call("crm", "unlink_contact", context=req.context.call_context, account_id=str(account_id),
                      contact_id=str(contact_id))
        resp.status = falcon.HTTP_204
