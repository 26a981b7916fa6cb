"""File requests (documents service; their links live in the links service)."""
from __future__ import annotations

from typing import Any

import falcon

from gateway.openapi import operation
from gateway.resources.paging import page_query
from shared.contracts.documents import (
    FileRequestCreateSchema,
    FileRequestPageSchema,
    FileRequestPatchSchema,
    FileRequestResendSchema,
    FileRequestSchema,
)
from shared.schemas import PageQuerySchema


class AccountFileRequests:
    auth = "staff"

    def __init__(self, rpc: Any) -> None:
        self.rpc = rpc

    @operation("Ask for files into a folder: a link to an upload page, sent by email or copied",
               body=FileRequestCreateSchema, response=FileRequestSchema, status=201)
    def on_post(self, req: falcon.Request, resp: falcon.Response, account_id: Any) -> None:
        context = req.context.call_context
        created = self.rpc.call("documents", "create_file_request", context=context, account_id=str(account_id),
                                payload=req.get_media())
        # The create's reply is replayable and so holds no token; the url comes with a read.
        resp.media = self.rpc.call("documents", "get_file_request", context=context, file_request_id=created["id"])
        resp.status = falcon.HTTP_201

    @operation("The Requested files list, newest first; `url` is the link to copy", query=PageQuerySchema,
               response=FileRequestPageSchema, errors=(422,))
    def on_get(self, req: falcon.Request, resp: falcon.Response, account_id: Any) -> None:
        resp.media = self.rpc.call("documents", "list_file_requests", context=req.context.call_context,
                                   account_id=str(account_id), query=page_query(req))


class FileRequest:
    auth = "staff"

    def __init__(self, rpc: Any) -> None:
        self.rpc = rpc

    @operation("A file request with its link", response=FileRequestSchema)
    def on_get(self, req: falcon.Request, resp: falcon.Response, file_request_id: Any) -> None:
        resp.media = self.rpc.call("documents", "get_file_request", context=req.context.call_context,
                                   file_request_id=str(file_request_id))

    @operation("Edit the message the upload page shows", body=FileRequestPatchSchema, response=FileRequestSchema,
               errors=(409,))
    def on_patch(self, req: falcon.Request, resp: falcon.Response, file_request_id: Any) -> None:
        context = req.context.call_context
        self.rpc.call("documents", "update_file_request", context=context, file_request_id=str(file_request_id),
                      payload=req.get_media())
        resp.media = self.rpc.call("documents", "get_file_request", context=context,
                                   file_request_id=str(file_request_id))


class FileRequestResend:
    auth = "staff"

    def __init__(self, rpc: Any) -> None:
        self.rpc = rpc

    @operation("Email the request again (to its earlier recipients unless others are named)",
               body=FileRequestResendSchema, response=FileRequestSchema, errors=(409,))
    def on_post(self, req: falcon.Request, resp: falcon.Response, file_request_id: Any) -> None:
        context = req.context.call_context
        body = req.get_media() if req.content_length else {}
        self.rpc.call("documents", "resend_file_request", context=context, file_request_id=str(file_request_id),
                      payload=body)
        resp.media = self.rpc.call("documents", "get_file_request", context=context,
                                   file_request_id=str(file_request_id))


class FileRequestRevoke:
    auth = "staff"

    def __init__(self, rpc: Any) -> None:
        self.rpc = rpc

    @operation("Revoke: the link answers 410 from now on", response=FileRequestSchema)
    def on_post(self, req: falcon.Request, resp: falcon.Response, file_request_id: Any) -> None:
        resp.media = self.rpc.call("documents", "revoke_file_request", context=req.context.call_context,
                                   file_request_id=str(file_request_id))
