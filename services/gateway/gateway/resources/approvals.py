"""Approval requests (documents service; each approver's link lives in the links service): staff routes,
the portal's, and what an approver reaches through his link: the approval page, the document it shows,
and the decision.
"""
from __future__ import annotations

from typing import Any

import falcon

from gateway.openapi import operation
from gateway.resources.paging import page_query
from gateway.resources.public import _private, pages
from gateway.resources.shares import in_words
from gateway.transfer import FileTransfer
from shared.contracts.approvals import (
    ApprovalCreateSchema,
    ApprovalDecisionSchema,
    ApprovalRequestPageSchema,
    ApprovalRequestSchema,
    LinkApprovalSchema,
    PortalApprovalPageSchema,
    PortalApprovalSchema,
)
from shared.errors import NotFound
from shared.schemas import PageQuerySchema

# Shown in the page itself: PDFs drawn by pdf.js (gateway/static/pdfjs), images as images.
PDF = "application/pdf"
IMAGES = ("image/png", "image/jpeg", "image/gif", "image/webp")


class DocumentApprovalRequests:
    auth = "staff"

    def __init__(self, rpc: Any) -> None:
        self.rpc = rpc

    @operation("Send a document for approval: each approver is emailed a link of his own, which his `url` "
               "shows (here and in later reads, while he may still decide)", body=ApprovalCreateSchema,
               response=ApprovalRequestSchema, status=201, errors=(409, 422))
    def on_post(self, req: falcon.Request, resp: falcon.Response, document_id: Any) -> None:
        context = req.context.call_context
        created = self.rpc.call("documents", "create_approval_request", context=context,
                                document_id=str(document_id), payload=req.get_media())
        # The create's reply is replayable and so holds no token; the approvers' urls come with a read.
        resp.media = self.rpc.call("documents", "get_approval_request", context=context,
                                   approval_request_id=created["id"])
        resp.status = falcon.HTTP_201


class AccountApprovalRequests:
    auth = "staff"

    def __init__(self, rpc: Any) -> None:
        self.rpc = rpc

    @operation("The account's approval requests, newest first (the Approvals tab)", query=PageQuerySchema,
               response=ApprovalRequestPageSchema, errors=(422,))
    def on_get(self, req: falcon.Request, resp: falcon.Response, account_id: Any) -> None:
        resp.media = self.rpc.call("documents", "list_approval_requests", context=req.context.call_context,
                                   account_id=str(account_id), query=page_query(req))


class ApprovalRequest:
    auth = "staff"

    def __init__(self, rpc: Any) -> None:
        self.rpc = rpc

    @operation("An approval request: `pending`, `approved` (every approver approved) or `disapproved` (one did, "
               "with his comment)", response=ApprovalRequestSchema)
    def on_get(self, req: falcon.Request, resp: falcon.Response, approval_request_id: Any) -> None:
        resp.media = self.rpc.call("documents", "get_approval_request", context=req.context.call_context,
                                   approval_request_id=str(approval_request_id))


# -- the portal --------------------------------------------------------------------------------


class PortalApprovalRequests:
    auth = "client"

    def __init__(self, rpc: Any) -> None:
        self.rpc = rpc

    @operation("The account's approval requests sent to the caller's address, with his own decision",
               query=PageQuerySchema, response=PortalApprovalPageSchema, errors=(422,))
    def on_get(self, req: falcon.Request, resp: falcon.Response, account_id: Any) -> None:
        resp.media = self.rpc.call("documents", "list_portal_approval_requests", context=req.context.call_context,
                                   account_id=str(account_id), query=page_query(req))


class PortalApprovalDecision:
    auth = "client"

    def __init__(self, rpc: Any) -> None:
        self.rpc = rpc

    @operation("Approve, or disapprove with a comment (required): once", body=ApprovalDecisionSchema,
               response=PortalApprovalSchema, errors=(409, 422))
    def on_post(self, req: falcon.Request, resp: falcon.Response, account_id: Any, approval_request_id: Any) -> None:
        resp.media = self.rpc.call("documents", "decide_portal_approval", context=req.context.call_context,
                                   account_id=str(account_id), approval_request_id=str(approval_request_id),
                                   payload=req.get_media())


# -- the approver's link -------------------------------------------------------------------------


class ApprovalLink:
    """The `approval` kind of link for `GET /api/public/links/{token}` and `/p/{token}`."""

    def describe(self, rpc: Any, req: falcon.Request, token: str, link: dict) -> dict:
        approval = rpc.call("documents", "describe_approval", context=req.context.call_context, token=token,
                            address=req.context.client_address)
        return {"message": approval["message"], "approval": approval}

    def page(self, info: dict, token: str) -> str:
        approval = info["approval"]
        shown = "pdf" if approval["content_type"] == PDF else "image" if approval["content_type"] in IMAGES else None
        return pages.get_template("approval.html").render(info=info, approval=approval, token=token, shown=shown,
                                                          decided=in_words(approval["decided_at"]))

    def content(self, rpc: Any, req: falcon.Request, token: str) -> dict:
        return rpc.call("documents", "open_approval_document", context=req.context.call_context, token=token,
                        address=req.context.client_address)


class LinkContent:
    """`GET /api/public/links/{token}/content`: the one document a link acts on (to approve; to sign too, for a
    kind that offers `content(rpc, req, token)`), inline."""

    auth = None

    def __init__(self, rpc: Any, transfer: FileTransfer, kinds: dict[str, Any]) -> None:
        self.rpc = rpc
        self.transfer = transfer
        self.kinds = kinds

    @operation("The document a link asks to approve (or sign), shown in the browser; `Range` honoured. "
               "Quarantined files answer 409", binary_response=True, errors=(404, 409, 410, 416, 429))
    def on_get(self, req: falcon.Request, resp: falcon.Response, token: str) -> None:
        _private(resp)
        link = self.rpc.call("links", "resolve_link", context=req.context.call_context, token=token,
                             address=req.context.client_address)
        content = getattr(self.kinds.get(link["kind"]), "content", None)
        if content is None:
            raise NotFound("This link has no document to show.")
        download = content(self.rpc, req, token)
        self.transfer.send(req, resp, download)
        if download["content_type"] == PDF or download["content_type"] in IMAGES:
            resp.viewable_as = download["name"]


class LinkApproval:
    auth = None

    def __init__(self, rpc: Any) -> None:
        self.rpc = rpc

    @operation("Approve, or disapprove with a comment (required), through the link: once (409 after)",
               body=ApprovalDecisionSchema, response=LinkApprovalSchema, errors=(404, 409, 410, 422, 429))
    def on_post(self, req: falcon.Request, resp: falcon.Response, token: str) -> None:
        _private(resp)
        resp.media = self.rpc.call("documents", "decide_approval", context=req.context.call_context, token=token,
                                   address=req.context.client_address, payload=req.get_media())
