"""The client portal's page for one thread: `/portal/accounts/{account_id}/chats/{thread_id}`. A plain page:
its script (static/portal_chat.js) reads the thread over /portal/v1 with the client's token and follows the
portal's event stream, so staff messages and task changes appear without a reload."""
from __future__ import annotations

import uuid

import falcon
from jinja2 import Environment, PackageLoader, select_autoescape

from gateway.openapi import operation

pages = Environment(loader=PackageLoader("gateway", "templates"), autoescape=select_autoescape(["html"]))


class PortalChatPage:
    auth = None  # the page holds no data; its script calls /portal/v1 with the token

    @operation("The client portal's page for one chat thread: messages arriving live, replies, tasks", html=True,
               errors=(404,))
    def on_get(self, req: falcon.Request, resp: falcon.Response, account_id: str, thread_id: str) -> None:
        resp.content_type = falcon.MEDIA_HTML
        resp.set_header("Cache-Control", "no-store")
        resp.set_header("Referrer-Policy", "no-referrer")
        resp.set_header("X-Robots-Tag", "noindex")
        try:  # ids checked here, not by the route: a malformed one gets this page's 404 page, not a JSON one
            account, thread = uuid.UUID(account_id), uuid.UUID(thread_id)
        except ValueError:
            resp.status = falcon.HTTP_404
            resp.text = pages.get_template("portal_chat_missing.html").render()
            return
        resp.text = pages.get_template("portal_chat.html").render(account_id=str(account), thread_id=str(thread))
