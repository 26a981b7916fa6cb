"""The client portal: what a client user reaches, always naming one of his accounts."""
from __future__ import annotations

from typing import Any

import falcon

from gateway.openapi import operation
from gateway.resources.documents import UPLOAD_ERRORS, UploadQuerySchema, list_documents, upload_documents
from gateway.resources.paging import page_query
from gateway.transfer import FileTransfer
from shared.contracts.crm import AccountListSchema, PortalAnnouncementSchema, PortalJobPageSchema
from shared.contracts.documents import DocumentListSchema, DocumentPageSchema, DocumentQuerySchema, FolderListSchema
from shared.schemas import PageQuerySchema


class PortalAccounts:
    auth = "client"

    def __init__(self, rpc: Any) -> None:
        self.rpc = rpc

    @operation("Every account this client user may open", response=AccountListSchema)
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = self.rpc.call("crm", "list_portal_accounts", context=req.context.call_context)


class PortalFolders:
    auth = "client"

    def __init__(self, rpc: Any) -> None:
        self.rpc = rpc

    @operation("The account's folders the client may see", response=FolderListSchema)
    def on_get(self, req: falcon.Request, resp: falcon.Response, account_id: Any) -> None:
        resp.media = self.rpc.call("documents", "list_folders", context=req.context.call_context,
                                   account_id=str(account_id))


class PortalDocuments:
    auth = "client"

    def __init__(self, rpc: Any, transfer: FileTransfer) -> None:
        self.rpc = rpc
        self.transfer = transfer

    @operation("The documents in the folders the client may see, newest first", query=DocumentQuerySchema,
               response=DocumentPageSchema, errors=(422,))
    def on_get(self, req: falcon.Request, resp: falcon.Response, account_id: Any) -> None:
        resp.media = list_documents(req, self.rpc, account_id)

    @operation("Upload into a folder the client may edit (default: the account's client folder)",
               query=UploadQuerySchema, response=DocumentListSchema, status=201, files=True, errors=UPLOAD_ERRORS)
    def on_post(self, req: falcon.Request, resp: falcon.Response, account_id: Any) -> None:
        resp.media = {"items": upload_documents(req, self.rpc, self.transfer, account_id)}
        resp.status = falcon.HTTP_201


class PortalDocumentContent:
    auth = "client"

    def __init__(self, rpc: Any, transfer: FileTransfer) -> None:
        self.rpc = rpc
        self.transfer = transfer

    @operation("A visible document's bytes, streamed; `Range` honoured", binary_response=True, errors=(409,))
    def on_get(self, req: falcon.Request, resp: falcon.Response, account_id: Any, document_id: Any) -> None:
        download = self.rpc.call("documents", "open_document", context=req.context.call_context,
                                 document_id=str(document_id), account_id=str(account_id))
        self.transfer.send(req, resp, download)


class PortalDoneUploading:
    auth = "client"

    def __init__(self, rpc: Any) -> None:
        self.rpc = rpc

    @operation('"Done uploading": tells the firm (when it has turned the button on)', status=204)
    def on_post(self, req: falcon.Request, resp: falcon.Response, account_id: Any) -> None:
        self.rpc.call("documents", "client_done_uploading", context=req.context.call_context,
                      account_id=str(account_id))
        resp.status = falcon.HTTP_204


class PortalAnnouncement:
    auth = "client"

    def __init__(self, rpc: Any) -> None:
        self.rpc = rpc

    @operation("The firm's announcement; `text` is null while the firm has it off",
               response=PortalAnnouncementSchema)
    def on_get(self, req: falcon.Request, resp: falcon.Response, account_id: Any) -> None:
        resp.media = self.rpc.call("crm", "get_portal_announcement", context=req.context.call_context,
                                   account_id=str(account_id))


class PortalJobs:
    auth = "client"

    def __init__(self, rpc: Any) -> None:
        self.rpc = rpc

    @operation("The account's jobs with their client statuses, newest first", query=PageQuerySchema,
               response=PortalJobPageSchema, errors=(422,),
               description="Only jobs the firm gave a client status; never the internal status. 403 while the "
                           "firm has work in progress off in its portal settings.")
    def on_get(self, req: falcon.Request, resp: falcon.Response, account_id: Any) -> None:
        resp.media = self.rpc.call("crm", "list_portal_jobs", context=req.context.call_context,
                                   account_id=str(account_id), query=page_query(req))
