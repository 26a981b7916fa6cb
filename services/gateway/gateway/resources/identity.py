"""Signup, login, logout and the current staff user (crm)."""
from __future__ import annotations

from typing import Any

import falcon

from gateway.openapi import operation
from shared.contracts.crm import LoginResultSchema, LoginSchema, MeSchema, SignupResultSchema, SignupSchema


class Signup:
    auth = None

    def __init__(self, rpc: Any) -> None:
        self.rpc = rpc

    @operation("Create a firm and its owner, logged in", body=SignupSchema, response=SignupResultSchema,
               status=201, errors=(409,))
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = self.rpc.call("crm", "signup", context=req.context.call_context, payload=req.get_media())
        resp.status = falcon.HTTP_201


class Login:
    auth = None

    def __init__(self, rpc: Any) -> None:
        self.rpc = rpc

    @operation("Log in as staff or client; `user.kind` says which", body=LoginSchema, response=LoginResultSchema,
               errors=(401,))
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = self.rpc.call("crm", "login", context=req.context.call_context, payload=req.get_media())


class Logout:
    auth = "any"

    def __init__(self, rpc: Any) -> None:
        self.rpc = rpc

    @operation("End this token's session at once", status=204)
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        self.rpc.call("crm", "logout", context=req.context.call_context)
        resp.status = falcon.HTTP_204


class Me:
    auth = "staff"

    def __init__(self, rpc: Any) -> None:
        self.rpc = rpc

    @operation("The staff user, role and rights", response=MeSchema)
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = self.rpc.call("crm", "me", context=req.context.call_context)
