"""What people reach without logging in: link pages under /p/ and the public API behind them.

A link's token is the only credential here, so these responses are never cached, never sent
on as a Referer, and never indexed (reliability.md L10); the links service throttles wrong
tokens per client address.
"""
from __future__ import annotations

from typing import Any

import falcon
from jinja2 import Environment, PackageLoader, select_autoescape
from marshmallow import Schema, fields

from crm.schemas import AcceptInvitationSchema, LoginResultSchema
from gateway.openapi import operation
from shared.errors import Gone, NotFound

pages = Environment(loader=PackageLoader("gateway", "templates"), autoescape=select_autoescape())

PRIVATE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Robots-Tag": "noindex"}


class LinkInfoSchema(Schema):
    kind = fields.String()
    firm_name = fields.String()
    message = fields.String(allow_none=True)
    expires_at = fields.String(allow_none=True)


def _private(resp: falcon.Response) -> None:
    for name, value in PRIVATE.items():
        resp.set_header(name, value)


class LinkInfo:
    auth = None

    def __init__(self, rpc: Any) -> None:
        self.rpc = rpc

    @operation("What a link may show: its kind, the firm's name, its message and expiry",
               response=LinkInfoSchema, errors=(404, 410, 429))
    def on_get(self, req: falcon.Request, resp: falcon.Response, token: str) -> None:
        _private(resp)
        link = self.rpc.call("links", "resolve_link", context=req.context.call_context, token=token,
                             address=req.context.client_address)
        firm = self.rpc.call("crm", "describe_firm", context=req.context.call_context, firm_id=link["firm_id"])
        resp.media = LinkInfoSchema().dump({"kind": link["kind"], "firm_name": firm["name"],
                                            "message": link.get("message"), "expires_at": link.get("expires_at")})


class AcceptInvitation:
    auth = None

    def __init__(self, rpc: Any) -> None:
        self.rpc = rpc

    @operation("Accept an invitation: set a password, activate the user, log in", body=AcceptInvitationSchema,
               response=LoginResultSchema, errors=(404, 410, 429))
    def on_post(self, req: falcon.Request, resp: falcon.Response, token: str) -> None:
        _private(resp)
        resp.media = self.rpc.call("crm", "accept_invitation", context=req.context.call_context, token=token,
                                   payload=req.get_media(), address=req.context.client_address)


class LinkPage:
    """`/p/{token}`: the page a person opens from an email."""

    auth = None

    def __init__(self, rpc: Any) -> None:
        self.rpc = rpc

    @operation("The HTML page behind a link (invitation, upload, share, sign, pay, answer)", errors=(404, 410, 429))
    def on_get(self, req: falcon.Request, resp: falcon.Response, token: str) -> None:
        _private(resp)
        resp.content_type = falcon.MEDIA_HTML
        try:
            link = self.rpc.call("links", "resolve_link", context=req.context.call_context, token=token,
                                 address=req.context.client_address)
        except (NotFound, Gone) as exc:
            resp.status = falcon.code_to_http_status(exc.status)
            resp.text = pages.get_template("link_invalid.html").render()
            return
        firm = self.rpc.call("crm", "describe_firm", context=req.context.call_context, firm_id=link["firm_id"])
        if link["kind"] != "invitation":
            raise NotFound("This kind of link has no page yet.")
        resp.text = pages.get_template("invitation.html").render(
            firm_name=firm["name"], accept_url=f"/api/public/invitations/{token}")


class PortalPage:
    auth = None

    @operation("The client portal's page (it calls /portal/v1 with the token from the invitation or login)")
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.content_type = falcon.MEDIA_HTML
        resp.set_header("Cache-Control", "no-store")
        resp.text = pages.get_template("portal.html").render()
