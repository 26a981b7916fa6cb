"""Signature requests (documents service; each signer's link lives in the links service): staff routes, the
portal's, what a signer reaches through his link (the signing page, the PDF it draws, sign, decline), and
`POST /api/public/verify`, where anyone checks whether a PDF is sealed by this installation and intact.
"""
from __future__ import annotations

import contextlib
import logging
import uuid
from typing import Any

import falcon
from minio.error import MinioException
from urllib3.exceptions import HTTPError as Urllib3Error

from gateway.openapi import operation
from gateway.resources.paging import page_query
from gateway.resources.public import _private, pages
from gateway.resources.shares import in_words
from gateway.transfer import COMPLETE_TIMEOUT, incoming_files
from shared.contracts.documents import (
    DeclineSchema,
    LinkSignatureSchema,
    PortalSignatureRequestPageSchema,
    PortalSignatureRequestSchema,
    SignatureRequestCreateSchema,
    SignatureRequestPageSchema,
    SignatureRequestSchema,
    SignatureSchema,
    VerifyResultSchema,
)
from shared.errors import PayloadTooLarge, ServiceUnavailable, ValidationFailed
from shared.schemas import PageQuerySchema
from shared.storage import CountingReader, ObjectStore

log = logging.getLogger(__name__)

# The largest PDF `POST /api/public/verify` takes: it is parked in the object store, then read whole.
MAX_VERIFY_BYTES = 50 * 1024 * 1024
# Where it is parked (documents' `verify_sealed_pdf` reads only under this prefix, and removes it).
VERIFY_PREFIX = "verify/"
PDF = "application/pdf"


def _who(req: falcon.Request) -> dict[str, Any]:
    """The evidence the gateway alone knows: the client's address (after trusted proxies) and user agent."""
    return {"address": req.context.client_address, "user_agent": (req.user_agent or "")[:1000] or None}


# -- staff ------------------------------------------------------------------------------------------


class DocumentSignatureRequests:
    auth = "staff"

    def __init__(self, rpc: Any) -> None:
        self.rpc = rpc

    @operation("Ask for signatures on a PDF document (the caller needs `manage_documents`): each signer is "
               "emailed his own link, valid 7 days, which his `url` shows. A file that is not a PDF (by its "
               "content) is 415; an "
               "encrypted or damaged PDF is 422; a quarantined one 409",
               body=SignatureRequestCreateSchema, response=SignatureRequestSchema, status=201,
               errors=(404, 409, 413, 415, 422))
    def on_post(self, req: falcon.Request, resp: falcon.Response, document_id: Any) -> None:
        context = req.context.call_context
        created = self.rpc.call("documents", "create_signature_request", context=context,
                                document_id=str(document_id), payload=req.get_media())
        # The create's reply is replayable and so holds no token; the signers' urls come with a read.
        resp.media = self.rpc.call("documents", "get_signature_request", context=context,
                                   signature_request_id=created["id"])
        resp.status = falcon.HTTP_201


class AccountSignatureRequests:
    auth = "staff"

    def __init__(self, rpc: Any) -> None:
        self.rpc = rpc

    @operation("The account's signature requests, newest first (the Signatures tab)", query=PageQuerySchema,
               response=SignatureRequestPageSchema, errors=(422,))
    def on_get(self, req: falcon.Request, resp: falcon.Response, account_id: Any) -> None:
        resp.media = self.rpc.call("documents", "list_signature_requests", context=req.context.call_context,
                                   account_id=str(account_id), query=page_query(req))


class SignatureRequest:
    auth = "staff"

    def __init__(self, rpc: Any) -> None:
        self.rpc = rpc

    @operation("A signature request with its signers; `signed_document_id` once the sealed PDF is written",
               response=SignatureRequestSchema)
    def on_get(self, req: falcon.Request, resp: falcon.Response, signature_request_id: Any) -> None:
        resp.media = self.rpc.call("documents", "get_signature_request", context=req.context.call_context,
                                   signature_request_id=str(signature_request_id))


class SignerResend:
    auth = "staff"

    def __init__(self, rpc: Any) -> None:
        self.rpc = rpc

    @operation("Email one signer a fresh link, valid 7 days from now (his new `url`); his old link stops "
               "working at once", response=SignatureRequestSchema, errors=(409,))
    def on_post(self, req: falcon.Request, resp: falcon.Response, signature_request_id: Any, signer_id: Any) -> None:
        context = req.context.call_context
        self.rpc.call("documents", "resend_signature_link", context=context,
                      signature_request_id=str(signature_request_id), signer_id=str(signer_id))
        # The resend's reply is replayable and so holds no token; the new url comes with a read.
        resp.media = self.rpc.call("documents", "get_signature_request", context=context,
                                   signature_request_id=str(signature_request_id))


class SignatureRequestCancel:
    auth = "staff"

    def __init__(self, rpc: Any) -> None:
        self.rpc = rpc

    @operation("Cancel a pending request: every signing link answers 410 from now on (again: no change; a "
               "signed or declined one: 409)", response=SignatureRequestSchema, errors=(409,))
    def on_post(self, req: falcon.Request, resp: falcon.Response, signature_request_id: Any) -> None:
        resp.media = self.rpc.call("documents", "cancel_signature_request", context=req.context.call_context,
                                   signature_request_id=str(signature_request_id))


# -- the portal ---------------------------------------------------------------------------------------


class PortalSignatureRequests:
    auth = "client"

    def __init__(self, rpc: Any) -> None:
        self.rpc = rpc

    @operation("The account's signature requests the client user is a signer of, newest first",
               query=PageQuerySchema, response=PortalSignatureRequestPageSchema, errors=(422,))
    def on_get(self, req: falcon.Request, resp: falcon.Response, account_id: Any) -> None:
        resp.media = self.rpc.call("documents", "list_portal_signature_requests", context=req.context.call_context,
                                   account_id=str(account_id), query=page_query(req))


class PortalSignature:
    auth = "client"

    def __init__(self, rpc: Any) -> None:
        self.rpc = rpc

    @operation("Sign in the portal: the typed name and `agree: true` (422 otherwise); once (409 after)",
               body=SignatureSchema, response=PortalSignatureRequestSchema, errors=(409, 410, 422))
    def on_post(self, req: falcon.Request, resp: falcon.Response, account_id: Any,
                signature_request_id: Any) -> None:
        resp.media = self.rpc.call("documents", "sign_in_portal", context=req.context.call_context,
                                   account_id=str(account_id), signature_request_id=str(signature_request_id),
                                   payload=req.get_media(), **_who(req))


# -- the signer's link --------------------------------------------------------------------------------


class SignatureLink:
    """The `signature` kind of link for `GET /api/public/links/{token}`, `/p/{token}` and its `/content`."""

    def describe(self, rpc: Any, req: falcon.Request, token: str, link: dict) -> dict:
        signature = rpc.call("documents", "describe_signature", context=req.context.call_context, token=token,
                             address=req.context.client_address)
        return {"message": signature["message"] or None,
                "expires_at": signature["expires_at"], "signature": signature}

    def page(self, info: dict, token: str) -> str:
        signature = info["signature"]
        return pages.get_template("sign.html").render(
            info=info, signature=signature, token=token, expires=in_words(signature["expires_at"]),
            signed=in_words(signature["signer"]["signed_at"]))

    def content(self, rpc: Any, req: falcon.Request, token: str) -> dict:
        return rpc.call("documents", "open_signature_document", context=req.context.call_context, token=token,
                        address=req.context.client_address)


class LinkSignature:
    auth = None

    def __init__(self, rpc: Any) -> None:
        self.rpc = rpc

    @operation("Sign through the link: the typed name and `agree: true` (422 otherwise); once (409 after). "
               "The name, time, client address and user agent are kept as evidence",
               body=SignatureSchema, response=LinkSignatureSchema, errors=(404, 409, 410, 422, 429))
    def on_post(self, req: falcon.Request, resp: falcon.Response, token: str) -> None:
        _private(resp)
        who = _who(req)
        resp.media = self.rpc.call("documents", "sign_through_link", context=req.context.call_context, token=token,
                                   address=who["address"], user_agent=who["user_agent"], payload=req.get_media())


class LinkDecline:
    auth = None

    def __init__(self, rpc: Any) -> None:
        self.rpc = rpc

    @operation("Decline to sign, saying why: the request is declined and the firm is told (409 once signed)",
               body=DeclineSchema, response=LinkSignatureSchema, errors=(404, 409, 410, 422, 429))
    def on_post(self, req: falcon.Request, resp: falcon.Response, token: str) -> None:
        _private(resp)
        resp.media = self.rpc.call("documents", "decline_through_link", context=req.context.call_context,
                                   token=token, address=req.context.client_address, payload=req.get_media())


# -- anyone: verify a sealed PDF -----------------------------------------------------------------------


class PublicVerify:
    auth = None

    def __init__(self, rpc: Any, store: ObjectStore) -> None:
        self.rpc = rpc
        self.store = store

    @operation("Check a PDF: `sealed` when it carries this installation's seal, `intact` when nothing in it "
               "changed since (and nothing was added after it); for an intact sealed PDF, its request and "
               f"signers. The body is the PDF (raw, or one file part); at most {MAX_VERIFY_BYTES // 2**20} MB",
               files=True, response=VerifyResultSchema, errors=(400, 413, 422))
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        if req.content_length is not None and req.content_length > MAX_VERIFY_BYTES:
            raise PayloadTooLarge(f"A PDF to verify may be at most {MAX_VERIFY_BYTES // 2**20} MB.")
        stream = req.bounded_stream
        if req.content_type and req.content_type.lower().startswith(falcon.MEDIA_MULTIPART):
            stream = next(incoming_files(req)).stream
        key = f"{VERIFY_PREFIX}{uuid.uuid4()}"
        reader = CountingReader(stream, MAX_VERIFY_BYTES, "The PDF")
        try:
            try:
                self.store.put_stream(key, reader, max_bytes=MAX_VERIFY_BYTES, content_type=PDF)
            except (MinioException, Urllib3Error) as exc:
                log.warning("object store failed while parking a PDF to verify: %s", exc)
                raise ServiceUnavailable("The file store is unavailable; try again.") from None
            if reader.size == 0:
                raise ValidationFailed("Send the PDF to check as the body.", {"file": ["The body is empty."]})
            resp.media = self.rpc.call("documents", "verify_sealed_pdf", context=req.context.call_context,
                                       timeout=COMPLETE_TIMEOUT, object_key=key)
        finally:
            with contextlib.suppress(MinioException, Urllib3Error):  # documents removes it too once read
                self.store.remove(key)
