"""Folders and documents (documents service); the bytes go through `FileTransfer`."""
from __future__ import annotations

from typing import Any

import falcon
from marshmallow import Schema, fields

from gateway.openapi import operation
from gateway.resources.paging import page_query
from gateway.transfer import COMPLETE_TIMEOUT, FileTransfer, IncomingFile
from shared.contracts.documents import (
    DocumentListSchema,
    DocumentPageSchema,
    DocumentPatchSchema,
    DocumentQuerySchema,
    DocumentSchema,
    FolderCreateSchema,
    FolderListSchema,
    FolderSchema,
)

UPLOAD_ERRORS = (404, 409, 413, 415, 422)


class UploadQuerySchema(Schema):
    folder_id = fields.UUID(metadata={"description": "Default: the private root (staff) or the client root (client)"})
    filename = fields.String(metadata={"description": "Required with a raw body; multipart parts name themselves"})
    unzip = fields.Boolean(metadata={"description": "Default true: a .zip is unpacked into the folder (and kept)"})


def _flag(req: falcon.Request, name: str, default: bool) -> bool:
    value = req.get_param_as_bool(name)
    return default if value is None else value


def list_documents(req: falcon.Request, rpc: Any, account_id: Any) -> dict:
    """One page of an account's documents, as far as the caller (staff or client) may see them."""
    query = {**page_query(req), "folder_id": req.get_param("folder_id"), "q": req.get_param("q")}
    return rpc.call("documents", "list_documents", context=req.context.call_context, account_id=str(account_id),
                    query={k: v for k, v in query.items() if v is not None})


def upload_documents(req: falcon.Request, rpc: Any, transfer: FileTransfer, account_id: Any) -> list[dict]:
    """Store the request's files into an account's folder as the logged-in caller (staff or client): all of
    them, or none and the error."""
    context = req.context.call_context
    folder_id = req.get_param("folder_id")
    unzip = _flag(req, "unzip", True)

    def begin(incoming: IncomingFile) -> dict:
        return rpc.call("documents", "begin_upload", context=context, account_id=str(account_id), payload={
            "folder_id": folder_id, "filename": incoming.filename, "content_type": incoming.content_type,
            "size": incoming.size, "unzip": unzip,
        })

    def complete(stored: list[dict]) -> dict:
        return rpc.call("documents", "complete_uploads", context=context, timeout=COMPLETE_TIMEOUT,
                        payload={"items": stored})

    def cancel(tickets: list[dict]) -> None:
        rpc.call("documents", "cancel_uploads", context=context,
                 payload={"upload_ids": [ticket["upload_id"] for ticket in tickets]})

    return transfer.receive(req, begin, complete, cancel)


class AccountFolders:
    auth = "staff"

    def __init__(self, rpc: Any) -> None:
        self.rpc = rpc

    @operation("The account's folders (its private and client roots included)", response=FolderListSchema)
    def on_get(self, req: falcon.Request, resp: falcon.Response, account_id: Any) -> None:
        resp.media = self.rpc.call("documents", "list_folders", context=req.context.call_context,
                                   account_id=str(account_id))

    @operation("Make a folder; inside a private folder it must be private too. Without `parent_id` it goes "
               "under the root that matches its `client_access`", body=FolderCreateSchema,
               response=FolderSchema, status=201, errors=(409,))
    def on_post(self, req: falcon.Request, resp: falcon.Response, account_id: Any) -> None:
        resp.media = self.rpc.call("documents", "create_folder", context=req.context.call_context,
                                   account_id=str(account_id), payload=req.get_media())
        resp.status = falcon.HTTP_201


class AccountDocuments:
    auth = "staff"

    def __init__(self, rpc: Any, transfer: FileTransfer) -> None:
        self.rpc = rpc
        self.transfer = transfer

    @operation("The account's documents, newest first", query=DocumentQuerySchema, response=DocumentPageSchema,
               errors=(422,))
    def on_get(self, req: falcon.Request, resp: falcon.Response, account_id: Any) -> None:
        resp.media = list_documents(req, self.rpc, account_id)

    @operation("Upload: a raw body with `?filename=`, or multipart/form-data with one or more files, stored "
               "all or none. The type is sniffed from the content; a .zip is unpacked into the folder unless "
               "`?unzip=false`",
               query=UploadQuerySchema, response=DocumentListSchema, status=201, files=True, errors=UPLOAD_ERRORS)
    def on_post(self, req: falcon.Request, resp: falcon.Response, account_id: Any) -> None:
        resp.media = {"items": upload_documents(req, self.rpc, self.transfer, account_id)}
        resp.status = falcon.HTTP_201


class Document:
    auth = "staff"

    def __init__(self, rpc: Any) -> None:
        self.rpc = rpc

    @operation("A document", response=DocumentSchema)
    def on_get(self, req: falcon.Request, resp: falcon.Response, document_id: Any) -> None:
        resp.media = self.rpc.call("documents", "get_document", context=req.context.call_context,
                                   document_id=str(document_id))

    @operation("Rename (the extension stays) or move to another folder of the account", body=DocumentPatchSchema,
               response=DocumentSchema, errors=(409,))
    def on_patch(self, req: falcon.Request, resp: falcon.Response, document_id: Any) -> None:
        resp.media = self.rpc.call("documents", "update_document", context=req.context.call_context,
                                   document_id=str(document_id), payload=req.get_media())

    @operation("Delete a document and its bytes", status=204)
    def on_delete(self, req: falcon.Request, resp: falcon.Response, document_id: Any) -> None:
        self.rpc.call("documents", "delete_document", context=req.context.call_context, document_id=str(document_id))
        resp.status = falcon.HTTP_204


class DocumentContent:
    auth = "staff"

    def __init__(self, rpc: Any, transfer: FileTransfer) -> None:
        self.rpc = rpc
        self.transfer = transfer

    @operation("The document's bytes, streamed; `Range` honoured. Quarantined files answer 409",
               binary_response=True, errors=(409,))
    def on_get(self, req: falcon.Request, resp: falcon.Response, document_id: Any) -> None:
        download = self.rpc.call("documents", "open_document", context=req.context.call_context,
                                 document_id=str(document_id))
        self.transfer.send(req, resp, download)
