"""What people reach without logging in: link pages under /p/ and the public API behind them.

A link's token is the only credential here, so these responses are never cached, never sent
on as a Referer, and never indexed (reliability.md L10); the links service throttles wrong
tokens per client address.
"""
from __future__ import annotations

from typing import Any, Protocol

import falcon
from jinja2 import Environment, PackageLoader, select_autoescape
from marshmallow import Schema, fields

from gateway.openapi import operation
from gateway.rpc import beside
from gateway.transfer import COMPLETE_TIMEOUT, FileTransfer, IncomingFile
from shared.contracts.approvals import LinkApprovalSchema
from shared.contracts.billing import LinkInvoiceSchema, PayOptionsSchema
from shared.contracts.crm import AcceptInvitationSchema, LoginResultSchema
from shared.contracts.documents import (
    DoneUploadingSchema,
    LinkClientRequestSchema,
    LinkSignatureSchema,
    PublicFileRequestSchema,
    ReceivedFilesSchema,
)
from shared.contracts.shares import LinkShareSchema
from shared.errors import Gone, NotFound, Throttled
from shared.schemas import schema

pages = Environment(loader=PackageLoader("gateway", "templates"), autoescape=select_autoescape())

PRIVATE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Robots-Tag": "noindex"}


class LinkFileRequestSchema(PublicFileRequestSchema):
    """documents' `describe_file_request` reply, already dumped: its time is passed on as the string it is."""

    expires_at = fields.String(allow_none=True, metadata={"format": "date-time"})


class LinkInfoSchema(Schema):
    kind = fields.String()
    firm_name = fields.String()
    message = fields.String(allow_none=True)
    expires_at = fields.String(allow_none=True)
    file_request = fields.Nested(LinkFileRequestSchema, allow_none=True,
                                 metadata={"description": "Upload links: what the upload page needs"})
    client_request = fields.Nested(LinkClientRequestSchema, allow_none=True,
                                   metadata={"description": "Client request links: the questions and saved answers"})
    share = fields.Nested(LinkShareSchema, allow_none=True,
                          metadata={"description": "Share links: the message and the documents (opening counts)"})
    approval = fields.Nested(LinkApprovalSchema, allow_none=True,
                             metadata={"description": "Approval links: the document and this approver's decision"})
    invoice = fields.Nested(LinkInvoiceSchema, allow_none=True,
                            metadata={"description": "Pay links: the invoice, what is due, whether it takes money"})
    payment = fields.Nested(PayOptionsSchema, allow_none=True,
                            metadata={"description": "Pay links: how the firm takes payments online"})
    signature = fields.Nested(LinkSignatureSchema, allow_none=True,
                              metadata={"description": "Signing links: the PDF's name, the message, this signer"})


def _private(resp: falcon.Response) -> None:
    for name, value in PRIVATE.items():
        resp.set_header(name, value)


class LinkKind(Protocol):
    """What the public side of one kind of link does: `describe` answers `GET /api/public/links/{token}`
    (its fields merged into LinkInfoSchema's, over the firm's name and the link's expiry; NotFound/Gone/Throttled
    when the owning service refuses), `page` renders `/p/{token}` from that description. One per kind, passed
    to `LinkInfo`/`LinkPage` by `app.routes()`."""

    def describe(self, rpc: Any, req: falcon.Request, token: str, link: dict) -> dict: ...

    def page(self, info: dict, token: str) -> str: ...


class InvitationLink:
    def describe(self, rpc: Any, req: falcon.Request, token: str, link: dict) -> dict:
        # Gone at once when crm voided it (reinvite, new address, LOGIN off...), whatever links has heard yet.
        invitation = rpc.call("crm", "describe_invitation", context=req.context.call_context, token=token,
                              address=req.context.client_address)
        return {"firm_name": invitation["firm_name"]}

    def page(self, info: dict, token: str) -> str:
        return pages.get_template("invitation.html").render(firm_name=info["firm_name"],
                                                            accept_url=f"/api/public/invitations/{token}")


class FileRequestLink:
    def describe(self, rpc: Any, req: falcon.Request, token: str, link: dict) -> dict:
        # The links service keeps the page's view (documents gave it at issue, its events keep it current);
        # uploads stay checked by documents. A link issued before views asks documents.
        request = link.get("view") or rpc.call("documents", "describe_file_request", token=token,
                                               context=req.context.call_context, address=req.context.client_address)
        return {"message": request["message"],
                "expires_at": request["expires_at"] or link.get("expires_at"), "file_request": request}

    def page(self, info: dict, token: str) -> str:
        return pages.get_template("upload.html").render(info=info, token=token)


def describe_link(rpc: Any, kinds: dict[str, LinkKind], req: falcon.Request, token: str) -> tuple[dict, LinkKind]:
    """Resolve the token once (with the firm's name and, for most kinds, all the page shows), then let its
    kind say what the link may show."""
    link = rpc.call("links", "describe_link", context=req.context.call_context, token=token,
                    address=req.context.client_address)
    kind = kinds.get(link["kind"])
    if kind is None:
        raise NotFound("This kind of link has no page yet.")
    name = link.get("firm_name")
    # A firm made before links kept names: crm answers beside the kind's own call.
    firm = beside(rpc.call, "crm", "describe_firm", context=req.context.call_context,
                  firm_id=link["firm_id"]) if name is None else None
    described = kind.describe(rpc, req, token, link)
    return {"kind": link["kind"], "firm_name": name if firm is None else firm.result()["name"], "message": None,
            "expires_at": link.get("expires_at"), **described}, kind


class LinkInfo:
    auth = None

    def __init__(self, rpc: Any, kinds: dict[str, LinkKind]) -> None:
        self.rpc = rpc
        self.kinds = kinds

    @operation("What a link may show: its kind, the firm's name, its message and expiry",
               response=LinkInfoSchema, errors=(404, 410, 429))
    def on_get(self, req: falcon.Request, resp: falcon.Response, token: str) -> None:
        _private(resp)
        info, _ = describe_link(self.rpc, self.kinds, req, token)
        resp.media = schema(LinkInfoSchema).dump(info)


class LinkFiles:
    """An upload link's files: stored into the request's folder, never listed back."""

    auth = None

    def __init__(self, rpc: Any, transfer: FileTransfer, questions: Any = None) -> None:
        self.rpc = rpc
        self.transfer = transfer
        self.questions = questions  # client request links' files (resources/client_requests.LinkQuestionFiles)

    @operation("Upload through a link: a raw body with `?filename=` (and `uploader_name`, `uploader_email`), or "
               "multipart/form-data (those two fields before the files), stored all or none. Answers only what "
               "was sent; content that already came through this link is not stored twice (`duplicate`; 200 "
               "instead of 201 when every file was such a duplicate)",
               response=ReceivedFilesSchema, status=201, files=True, errors=(404, 409, 410, 413, 415, 422, 429),
               description="A client request's link takes `?question_id=` (a file question): its files go into the "
                           "account's client folder and the answer is AnswerFiles (`items` {id, name, size}, "
                           "`question_id`, `answer`: the question's document ids).")
    def on_post(self, req: falcon.Request, resp: falcon.Response, token: str) -> None:
        if self.questions is not None and req.get_param("question_id") is not None:
            self.questions.on_post(req, resp, token)
            return
        _private(resp)
        context, address = req.context.call_context, req.context.client_address
        unzip = req.get_param_as_bool("unzip")

        def begin(incoming: IncomingFile) -> dict:
            return self.rpc.call("documents", "begin_link_upload", context=context, token=token, address=address,
                                 payload={"filename": incoming.filename, "content_type": incoming.content_type,
                                          "size": incoming.size, "unzip": True if unzip is None else unzip,
                                          "uploader_name": incoming.fields.get("uploader_name") or None,
                                          "uploader_email": incoming.fields.get("uploader_email") or None,
                                          "files_before": incoming.position})

        def complete(stored: list[dict]) -> dict:
            return self.rpc.call("documents", "complete_link_uploads", context=context, timeout=COMPLETE_TIMEOUT,
                                 token=token, address=address, payload={"items": stored})

        def cancel(tickets: list[dict]) -> None:
            self.rpc.call("documents", "cancel_uploads", context=context,
                          payload={"upload_ids": [ticket["upload_id"] for ticket in tickets]})

        items = self.transfer.receive(req, begin, complete, cancel)
        resp.media = {"items": items}
        resp.status = falcon.HTTP_201 if any(not item["duplicate"] for item in items) else falcon.HTTP_200


class LinkDone:
    auth = None

    def __init__(self, rpc: Any) -> None:
        self.rpc = rpc

    @operation('"Done uploading": the firm hears of it once for the files sent since the last press',
               body=DoneUploadingSchema, status=204, errors=(404, 410, 429))
    def on_post(self, req: falcon.Request, resp: falcon.Response, token: str) -> None:
        _private(resp)
        body = req.get_media() if req.content_length else {}
        self.rpc.call("documents", "finish_link_uploads", context=req.context.call_context, token=token,
                      address=req.context.client_address, payload=body)
        resp.status = falcon.HTTP_204


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

    def __init__(self, rpc: Any, kinds: dict[str, LinkKind]) -> None:
        self.rpc = rpc
        self.kinds = kinds

    @operation("The HTML page behind a link (invitation, upload, share, sign, approve, pay, answer)",
               errors=(404, 410, 429), html=True)
    def on_get(self, req: falcon.Request, resp: falcon.Response, token: str) -> None:
        _private(resp)
        resp.content_type = falcon.MEDIA_HTML
        try:
            info, kind = describe_link(self.rpc, self.kinds, req, token)
        except (NotFound, Gone, Throttled) as exc:  # also when revoked or expired a moment ago
            self._refused(resp, exc)
            return
        resp.text = kind.page(info, token)

    @staticmethod
    def _refused(resp: falcon.Response, exc: NotFound | Gone | Throttled) -> None:
        """A page in plain words: the link no longer works (404, 410), or a wrong link from an address
        that must wait (429, with the wait the links service named, also as Retry-After)."""
        resp.status = falcon.code_to_http_status(exc.status)
        if isinstance(exc, Throttled):
            wait = exc.retry_after
            resp.set_header("Retry-After", str(wait))
            in_words = f"{wait} second{'s' if wait != 1 else ''}" if wait < 120 else f"{-(-wait // 60)} minutes"
            resp.text = pages.get_template("link_throttled.html").render(wait=in_words)
        else:  # a dead link's own reason (expired, withdrawn...); an unknown token says nothing more
            resp.text = pages.get_template("link_invalid.html").render(reason=exc.description if isinstance(exc, Gone)
                                                                       else None)


class PortalPage:
    auth = None

    @operation("The client portal's page (it calls /portal/v1 with the token from the invitation or login)", html=True)
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.content_type = falcon.MEDIA_HTML
        resp.set_header("Cache-Control", "no-store")
        resp.text = pages.get_template("portal.html").render()
