"""Signup, login, logout and the current staff user (crm)."""
from __future__ import annotations

from typing import Any

import falcon

from gateway.openapi import operation
from shared.contracts.crm import LoginResultSchema, LoginSchema, MeSchema, SignupResultSchema, SignupSchema

LOGIN_DESCRIPTION = (
    "One email may hold logins in several firms (a client of two firms, an employee who is also a client "
    "elsewhere). When the email and password open exactly one, the answer is `{token, user}`. When they open "
    "more than one and no `firm_id` was sent, the answer is 200 `{firms: [{id, name}]}` without a token (no "
    "session was opened): the caller repeats the login with the chosen `firm_id`, which answers `{token, user}` "
    "for that firm's login or 401. A wrong email or password is 401, whichever part was wrong.\n\n"
    "Wrong passwords are throttled per client address and per account with growing delays: a throttled "
    "attempt is 429 with a `Retry-After` that tells the true wait, whatever the password. Guesses from other "
    "addresses never slow down the owner of an account at an address he logged in from before (or signed up "
    "or accepted his invitation from): he can always log in from his own address."
)


class Signup:
    auth = None

    def __init__(self, rpc: Any) -> None:
        self.rpc = rpc

    @operation("Create a firm and its owner, logged in", body=SignupSchema, response=SignupResultSchema,
               status=201, description="An email that already has logins in other firms may sign up a firm of its "
                                       "own; login then asks which firm (see the login operation).")
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = self.rpc.call("crm", "signup", context=req.context.call_context, payload=req.get_media(),
                                   address=req.context.client_address)
        resp.status = falcon.HTTP_201


class Login:
    auth = None

    def __init__(self, rpc: Any) -> None:
        self.rpc = rpc

    @operation("Log in as staff or client; `user.kind` says which", body=LoginSchema, response=LoginResultSchema,
               errors=(401, 429), description=LOGIN_DESCRIPTION)
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = self.rpc.call("crm", "login", context=req.context.call_context, payload=req.get_media(),
                                   address=req.context.client_address)


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
