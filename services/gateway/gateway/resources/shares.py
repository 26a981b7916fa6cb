"""Shares (documents service; each recipient's link lives in the links service): staff routes, and what a
recipient reaches through his link: the share page, each document (inline for PDFs and images, else a
download) and all of them as one zip streamed as it is written.
"""
from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import falcon
from marshmallow import Schema, fields
from zipstream import ZipStream

from gateway.openapi import operation
from gateway.resources.paging import page_query
from gateway.resources.public import _private, pages
from gateway.transfer import FileTransfer, _range
from shared.contracts.shares import (
    ShareCreateSchema,
    SharePageSchema,
    ShareRecipientPatchSchema,
    ShareSchema,
)
from shared.errors import ServiceUnavailable
from shared.schemas import PageQuerySchema
from shared.storage import Download, ObjectStore


def in_words(iso: str | None) -> str | None:
    """`2027-03-03T10:00:00Z` -> `3 March 2027 at 10:00 UTC`, for a page."""
    if not iso:
        return None
    when = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    return f"{when.day} {when:%B %Y} at {when:%H:%M} UTC"


# -- staff ------------------------------------------------------------------------------------


class Shares:
    auth = "staff"

    def __init__(self, rpc: Any) -> None:
        self.rpc = rpc

    @operation("Share documents of one account (the caller needs `manage_documents` on it) with recipients: "
               "each gets his own link, expiry and email, and never sees the others",
               body=ShareCreateSchema, response=ShareSchema, status=201, errors=(404, 409, 422))
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        context = req.context.call_context
        created = self.rpc.call("documents", "create_share", context=context, payload=req.get_media())
        # The create's reply is replayable and so holds no token; the urls come with a read.
        resp.media = self.rpc.call("documents", "get_share", context=context, share_id=created["id"])
        resp.status = falcon.HTTP_201


class AccountShares:
    auth = "staff"

    def __init__(self, rpc: Any) -> None:
        self.rpc = rpc

    @operation("The account's shares, newest first, with each recipient's link, opens and downloads",
               query=PageQuerySchema, response=SharePageSchema, errors=(422,))
    def on_get(self, req: falcon.Request, resp: falcon.Response, account_id: Any) -> None:
        resp.media = self.rpc.call("documents", "list_shares", context=req.context.call_context,
                                   account_id=str(account_id), query=page_query(req))


class Share:
    auth = "staff"

    def __init__(self, rpc: Any) -> None:
        self.rpc = rpc

    @operation("A share: its documents and each recipient's link, status, opens and downloads", response=ShareSchema)
    def on_get(self, req: falcon.Request, resp: falcon.Response, share_id: Any) -> None:
        resp.media = self.rpc.call("documents", "get_share", context=req.context.call_context,
                                   share_id=str(share_id))


class ShareRecipient:
    auth = "staff"

    def __init__(self, rpc: Any) -> None:
        self.rpc = rpc

    @operation("Extend or shorten one recipient's link (null: it never expires); his link stays the same",
               body=ShareRecipientPatchSchema, response=ShareSchema, errors=(409, 422))
    def on_patch(self, req: falcon.Request, resp: falcon.Response, share_id: Any, recipient_id: Any) -> None:
        context = req.context.call_context
        self.rpc.call("documents", "update_share_recipient", context=context, share_id=str(share_id),
                      recipient_id=str(recipient_id), payload=req.get_media())
        resp.media = self.rpc.call("documents", "get_share", context=context, share_id=str(share_id))


class ShareRevoke:
    auth = "staff"

    def __init__(self, rpc: Any) -> None:
        self.rpc = rpc

    @operation("Revoke the share: every recipient's link answers 410 from now on", response=ShareSchema)
    def on_post(self, req: falcon.Request, resp: falcon.Response, share_id: Any) -> None:
        resp.media = self.rpc.call("documents", "revoke_share", context=req.context.call_context,
                                   share_id=str(share_id))


class ShareRecipientRevoke:
    auth = "staff"

    def __init__(self, rpc: Any) -> None:
        self.rpc = rpc

    @operation("Revoke one recipient's link: it answers 410 from now on; the others keep working",
               response=ShareSchema)
    def on_post(self, req: falcon.Request, resp: falcon.Response, share_id: Any, recipient_id: Any) -> None:
        context = req.context.call_context
        self.rpc.call("documents", "revoke_share_recipient", context=context, share_id=str(share_id),
                      recipient_id=str(recipient_id))
        resp.media = self.rpc.call("documents", "get_share", context=context, share_id=str(share_id))


# -- the recipient's link ------------------------------------------------------------------------


class ShareLink:
    """The `share` kind of link for `GET /api/public/links/{token}` and `/p/{token}`: opening it counts."""

    def describe(self, rpc: Any, req: falcon.Request, token: str, link: dict) -> dict:
        share = rpc.call("documents", "open_share", context=req.context.call_context, token=token,
                         address=req.context.client_address)
        return {"message": share["message"],
                "expires_at": share["expires_at"], "share": share}

    def page(self, info: dict, token: str) -> str:
        documents = info["share"]["documents"]
        return pages.get_template("share.html").render(
            info=info, token=token, documents=documents, expires=in_words(info["expires_at"]),
            archive_ready=any(d["available"] for d in documents), total_bytes=sum(d["size"] for d in documents))


class ContentQuerySchema(Schema):
    disposition = fields.String(metadata={"description": "`inline`: shown in the browser (PDFs and images only; "
                                                         "anything else is always an attachment)"})


class LinkDocumentContent:
    auth = None

    def __init__(self, rpc: Any, transfer: FileTransfer) -> None:
        self.rpc = rpc
        self.transfer = transfer

    @operation("A shared document's bytes, streamed; `Range` honoured; `?disposition=inline` to view a PDF or an "
               "image in the browser. Counted per recipient (a view as an open, else a download; a resumed range "
               "not again). Quarantined files answer 409",
               query=ContentQuerySchema, binary_response=True, errors=(404, 409, 410, 416, 429))
    def on_get(self, req: falcon.Request, resp: falcon.Response, token: str, document_id: Any) -> None:
        _private(resp)
        inline = req.get_param("disposition") == "inline"
        download = self.rpc.call("documents", "open_shared_document", context=req.context.call_context,
                                 token=token, address=req.context.client_address, document_id=str(document_id),
                                 inline=inline, range_start=_first_byte(req))
        self.transfer.send(req, resp, download)
        if inline and download["viewable"]:
            resp.viewable_as = download["name"]


def _first_byte(req: falcon.Request) -> int | None:
    """Where the asked-for range starts (None: the whole file), so a resumed download is not counted again."""
    try:
        wanted = _range(req, 2**63)
    except falcon.HTTPRangeNotSatisfiable:
        return None
    return wanted[0] if wanted else None


class _ArchiveBody:
    """The zip's bytes for the WSGI server: each member's object is opened only when the zip reaches it
    and closed when it is done, or when the server closes the body (the client went away)."""

    def __init__(self, store: ObjectStore, members: list[dict]) -> None:
        self.store = store
        self.open: list[Download] = []
        self.zip = ZipStream(sized=True)  # stored, not compressed: a known length and the store's speed
        for member in members:
            self.zip.add(self._chunks(member["object_key"]), member["name"], size=int(member["size"]))

    def _chunks(self, key: str) -> Iterator[bytes]:
        download = self.store.open(key)
        self.open.append(download)
        try:
            yield from download.chunks
        finally:
            self._release(download)

    def _release(self, download: Download) -> None:
        """Once, whoever gets there first: the member's end, or the server closing the body."""
        if download in self.open:
            self.open.remove(download)
            download.close()

    def __len__(self) -> int:
        return len(self.zip)

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.zip)

    def close(self) -> None:
        for download in list(self.open):
            self._release(download)


class LinkArchive:
    auth = None

    def __init__(self, rpc: Any, store: ObjectStore) -> None:
        self.rpc = rpc
        self.store = store

    @operation("Every document of a share as one zip, streamed as it is written (no temporary file; "
               "Content-Length known ahead); a download for this recipient. 409 while nothing can be downloaded",
               binary_response=True, errors=(404, 409, 410, 429))
    def on_get(self, req: falcon.Request, resp: falcon.Response, token: str) -> None:
        _private(resp)
        archive = self.rpc.call("documents", "open_share_archive", context=req.context.call_context,
                                token=token, address=req.context.client_address)
        try:
            body = _ArchiveBody(self.store, archive["items"])
        except ValueError as exc:  # a name the zip format refuses; documents' names are sanitised, so never
            raise ServiceUnavailable("The archive could not be built; download the files one by one.") from exc
        resp.content_type = "application/zip"
        resp.downloadable_as = archive["name"]
        resp.set_header("Cache-Control", "private, no-store")
        resp.content_length = len(body)
        resp.stream = body
