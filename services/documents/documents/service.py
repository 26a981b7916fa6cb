"""The documents service's entrypoints: validate, authorise (crm), call the domain, emit, dump.

Bytes never come here over RabbitMQ: the gateway streams them into the object store between
`begin_*upload` and `complete_*upload` (see documents/uploads.py). Link uploads carry the link's
token, which this service resolves with the links service itself on every call, so a revoked
or expired link stops working at once.
"""
from __future__ import annotations

import functools
import logging
import uuid
from typing import Any

from nameko.rpc import RpcProxy
from nameko.timer import timer

from documents import archive, file_requests, folders, library, scanning, uploads
from documents.entrypoints.approvals import ApprovalEntrypoints
from documents.entrypoints.client_requests import ClientRequestEntrypoints
from documents.entrypoints.shares import ShareEntrypoints
from documents.entrypoints.signatures import SignatureEntrypoints
from documents.models import Document, FileRequest, Upload, messaging
from shared.access import Caller, authorize, authorize_as
from shared.context import Principal, require_principal
from shared.contracts.documents import (
    CLIENT_DONE_UPLOADING,
    DOCUMENT_CREATED,
    DOCUMENT_DELETED,
    DOCUMENT_UPDATED,
    FILE_REQUEST_CREATED,
    FILE_REQUEST_DONE,
    FILE_REQUEST_FILES_RECEIVED,
    FILE_REQUEST_REVOKED,
    FILE_REQUEST_SENT,
    FILE_REQUEST_UPDATED,
    FOLDER_CREATED,
    DocumentPageSchema,
    DocumentPatchSchema,
    DocumentQuerySchema,
    DocumentSchema,
    DoneUploadingSchema,
    DownloadSchema,
    FileRequestCreateSchema,
    FileRequestEventSchema,
    FileRequestPageSchema,
    FileRequestPatchSchema,
    FileRequestResendSchema,
    FileRequestSchema,
    FolderCreateSchema,
    FolderListSchema,
    FolderSchema,
    LinkUploadRequestSchema,
    PublicFileRequestSchema,
    ReceivedFilesSchema,
    UploadBatchSchema,
    UploadCancelSchema,
    UploadRequestSchema,
    UploadTicketSchema,
)
from shared.contracts.links import live_page_urls
from shared.dependencies import SYSTEM, Database, Storage
from shared.entrypoints import event_handler, idempotent, read, write
from shared.events import EventType
from shared.ids import parse_id
from shared.rpc import rpc
from shared.schemas import PageQuerySchema, schema, validated
from shared.service import PortaService

log = logging.getLogger(__name__)

SWEEP_INTERVAL = 600  # seconds between sweeps of uploads nobody completed


class DocumentsService(ClientRequestEntrypoints, ShareEntrypoints, ApprovalEntrypoints, SignatureEntrypoints,
                       PortaService):
    name = "documents"
    db = Database(messaging)
    store = Storage()
    crm = RpcProxy("crm")
    links = RpcProxy("links")

    # -- who is calling ---------------------------------------------------------------------

    def _principal(self) -> Principal:
        return require_principal(self.context.principal)

    def _authorize(self, account_id: Any, right: str | None = None) -> Caller:
        return authorize(self.crm, self._principal(), account_id, right)

    def _staff_writer(self, account_id: Any) -> Caller:
        """Document writes need the `manage_documents` right; a client never has it."""
        self._principal().require_staff()
        return self._authorize(account_id, "manage_documents")

    def _authorize_as(self, unknown: str, account_id: Any, right: str | None) -> Caller:
        return authorize_as(unknown, self.crm, self._principal(), account_id, right)

    def _document(self, document_id: Any, right: str | None = None) -> tuple[Document, Caller]:
        principal = self._principal()
        document = library.find_document(self.db.session, uuid.UUID(principal.firm_id),
                                         parse_id(document_id, "document"))
        if right is not None:
            principal.require_staff()
        caller = self._authorize_as(library.NO_SUCH_DOCUMENT, document.account_id, right)
        return library.visible_document(self.db.session, document, client=caller.client), caller

    def _file_request(self, request_id: Any, *, lock: bool = False) -> tuple[FileRequest, Caller]:
        principal = self._principal().require_staff()
        request = file_requests.find(self.db.session, uuid.UUID(principal.firm_id),
                                     parse_id(request_id, "file request"), lock=lock)
        return request, self._authorize_as(file_requests.NO_SUCH_REQUEST, request.account_id, "manage_documents")

    def _linked_request(self, token: str, address: str, *, lock: bool = False) -> FileRequest:
        """The open file request a live link token stands for (links counts wrong guesses)."""
        link = self.links.resolve_link(token=token, address=address, kind="file_request")
        return file_requests.find_open(self.db.session, uuid.UUID(link["firm_id"]),
                                       parse_id(link["target"]["id"], "file request"), lock=lock)

    # -- folders ----------------------------------------------------------------------------

    @rpc
    @idempotent  # an account's first use makes its two roots, which is harmless to repeat
    def list_folders(self, account_id: str) -> dict:
        caller = self._authorize(account_id)
        items = folders.list_folders(self.db.session, caller.firm_id, caller.account_id, client=caller.client)
        return schema(FolderListSchema).dump({"items": items, "next_cursor": None})

    @rpc
    @write
    def create_folder(self, account_id: str, payload: dict) -> dict:
        data = validated(schema(FolderCreateSchema), payload)
        caller = self._staff_writer(account_id)
        folder = schema(FolderSchema).dump(folders.create_folder(self.db.session, caller.firm_id, caller.account_id,
                                                           caller.user_id, data))
        self.db.emit(FOLDER_CREATED, {"folder": folder}, firm_id=caller.firm_id, account_id=caller.account_id)
        return folder

    # -- documents --------------------------------------------------------------------------

    @rpc
    def list_documents(self, account_id: str, query: dict) -> dict:
        params = validated(schema(DocumentQuerySchema), query)
        caller = self._authorize(account_id)
        items, cursor = library.list_documents(self.db.session, caller.firm_id, caller.account_id, params,
                                               client=caller.client)
        return schema(DocumentPageSchema).dump({"items": items, "next_cursor": cursor})

    @rpc
    def get_document(self, document_id: str) -> dict:
        document, _ = self._document(document_id)
        return schema(DocumentSchema).dump(document)

    @rpc
    @write
    def update_document(self, document_id: str, payload: dict) -> dict:
        data = validated(schema(DocumentPatchSchema), payload)
        document, _ = self._document(document_id, "manage_documents")
        result = schema(DocumentSchema).dump(library.update_document(self.db.session, document, data))
        self.db.emit(DOCUMENT_UPDATED, {"document": result, "changed": sorted(data)}, firm_id=document.firm_id,
                     account_id=document.account_id)
        return result

    @rpc
    @write
    def delete_document(self, document_id: str) -> None:
        document, _ = self._document(document_id, "manage_documents")
        gone = {**schema(DocumentSchema).dump(document), "object_key": document.object_key}
        library.delete_document(self.db.session, document)
        self.db.emit(DOCUMENT_DELETED, {"document": gone}, firm_id=document.firm_id, account_id=document.account_id)

    @event_handler(DOCUMENT_DELETED)
    def remove_deleted_bytes(self, event: dict) -> None:
        """The bytes of a deleted document go once its row is gone for good (after the commit)."""
        self.store.remove(event["data"]["document"]["object_key"])

    @rpc
    @read  # every download: a write transaction only for the opening that clears NEW
    def open_document(self, document_id: str, account_id: str | None = None) -> dict:
        """For a download: where the bytes are. Clears NEW when someone other than the uploader opens
        it. A portal path names the account too: a document of another account is not found there."""
        document, caller = self._document(document_id)
        if library.open_document(document, caller.user_id,
                                 account_id=parse_id(account_id, "document") if account_id is not None else None):
            self.db.on_success(functools.partial(library.mark_opened, document_id=document.id))
        return schema(DownloadSchema).dump(document)

    # -- uploads by logged-in users ---------------------------------------------------------

    @rpc
    @idempotent  # a redelivered begin leaves a second upload nobody writes into, which the sweeper removes
    def begin_upload(self, account_id: str, payload: dict) -> dict:
        """Before the bytes: where they go and how many may come. Staff need `manage_documents`;
        a client uploads into folders he may edit (the client root by default)."""
        data = validated(schema(UploadRequestSchema), payload)
        caller = self._authorize(account_id, uploads.right_to_upload(self._principal().kind))
        upload = uploads.begin_for_user(self.db.session, firm_id=caller.firm_id, account_id=caller.account_id,
                                        uploader=uploads.Uploader.user(caller.user_id, caller.user,
                                                                       client=caller.client),
                                        data=data, max_bytes=self.settings.max_upload_bytes)
        return self._ticket(upload)

    def _ticket(self, upload: Upload) -> dict:
        return schema(UploadTicketSchema).dump({"upload_id": upload.id, "object_key": upload.object_key,
                                          "max_bytes": upload.max_bytes})

    def _discard_on_failure(self, upload_id: uuid.UUID) -> None:
        """A refused upload leaves nothing: its objects and row go after the rollback, for good."""
        self.db.on_failure(lambda session: uploads.discard(session, self.store, upload_id))

    def _completion(self) -> dict[str, Any]:
        """How uploads complete in this process: its zip limits, and the scan status new files start in."""
        return {"limits": archive.ArchiveLimits.from_settings(self.settings),
                "scan_status": scanning.first_status(self.settings.clamd_address)}

    def _emit_stored(self, documents: list[Document]) -> list[dict]:
        dumped = []
        for document in documents:
            dumped.append(schema(DocumentSchema).dump(document))
            self.db.emit(DOCUMENT_CREATED, {"document": dumped[-1]}, firm_id=document.firm_id,
                         account_id=document.account_id)
        return dumped

    @event_handler(DOCUMENT_CREATED, when=scanning.waits_for_scan)
    def scan_new_document(self, event: dict) -> None:
        """A new document waiting for its virus scan gets its verdict (documents/scanning.py): its bytes
        stream from the store to clamd; one created while scanning is off is acknowledged untouched. No verdict
        raises, so the event comes back after a pause and the document stays pending, quarantined.
        `document_infected` / `document_too_large_to_scan` tell the firm."""
        scanned = scanning.scan_pending(self.db.session, self.store,
                                        parse_id(event["data"]["document"]["id"], "document"),
                                        self.settings.clamd_address)
        quarantined = scanning.QUARANTINE_EVENTS.get(scanned.verdict.status) if scanned else None
        if scanned and quarantined:
            self.db.emit(quarantined, {"document": schema(DocumentSchema).dump(scanned.document),
                                       "signature": scanned.verdict.signature},
                         firm_id=scanned.document.firm_id, account_id=scanned.document.account_id, actor=SYSTEM)

    @rpc
    @write
    def complete_uploads(self, payload: dict) -> dict:
        """Every file of one HTTP request, once the gateway has streamed them all (`UploadBatchSchema`):
        all become documents in this one transaction, or none does and every upload named is discarded."""
        items = validated(schema(UploadBatchSchema), payload)["items"]
        batch = uploads.find_own_batch(self.db.session, [item["upload_id"] for item in items], self._principal())
        for upload in batch:
            self._discard_on_failure(upload.id)
        documents: list[Document] = []
        for upload, item in zip(batch, items, strict=True):
            documents += uploads.complete(self.db.session, self.store, upload, size=item["size"],
                                          sha256=item["sha256"], head=item["head"], **self._completion()).documents
        return {"items": self._emit_stored(documents)}

    @rpc
    @write
    def cancel_uploads(self, payload: dict) -> None:
        """The gateway gave up on the bytes (too large, client gone, another file of the request refused):
        forget these uploads now. A logged-in caller cancels only his own; a call without one, only link
        uploads."""
        for upload_id in validated(schema(UploadCancelSchema), payload)["upload_ids"]:
            uploads.cancel(self.db.session, self.store, upload_id, self.context.principal)

    @timer(interval=SWEEP_INTERVAL)
    @idempotent  # another instance may sweep beside this one (SKIP LOCKED); repeating is harmless
    def sweep_uploads(self) -> None:
        swept = uploads.sweep_expired(self.db.session, self.store)
        if swept:
            log.info("swept %d uploads nobody completed", swept)

    # -- file requests (staff) --------------------------------------------------------------

    def _with_urls(self, firm_id: uuid.UUID, requests: list[FileRequest]) -> list[dict]:
        """Each request with its link to copy (the links service keeps the token sealed)."""
        ids = file_requests.links_to_reveal(requests)
        return file_requests.with_urls(requests, live_page_urls(self.links, str(firm_id), ids, self.settings.base_url))

    def _emit_request(self, event: EventType, request: FileRequest, **data: Any) -> None:
        self.db.emit(event, {"file_request": schema(FileRequestEventSchema).dump(request), **data},
                     firm_id=request.firm_id, account_id=request.account_id)

    def _answer(self, request: FileRequest) -> dict:
        """A staff write's reply: no url, as a stored (replayable) reply must not hold the link's token."""
        return schema(FileRequestSchema).dump({**file_requests.as_fields(request), "url": None})

    @rpc
    @write
    def create_file_request(self, account_id: str, payload: dict) -> dict:
        """The request and its link. The reply has no url: a stored (replayable) reply must not
        hold the link's token, so the caller reads the url with `get_file_request`."""
        data = validated(schema(FileRequestCreateSchema), payload)
        caller = self._staff_writer(account_id)
        folder = folders.get_folder(self.db.session, caller.firm_id, caller.account_id, data["folder_id"],
                                    client=False)
        request = file_requests.create(self.db.session, folder, caller.user_id, data,
                                       guest=bool(caller.account.get("guest")))
        view = schema(PublicFileRequestSchema).dump(file_requests.public_fields(request))
        link = self.links.issue_link(payload=file_requests.link_payload(request, view))
        file_requests.attach_link(request, uuid.UUID(link["id"]))
        self._emit_request(FILE_REQUEST_CREATED, request)
        if data["send_email"]:
            self._emit_sent(caller, request, list(request.recipients))
        return self._answer(request)

    def _emit_sent(self, caller: Caller, request: FileRequest, recipients: list[str]) -> None:
        firm = self.crm.describe_firm(firm_id=str(caller.firm_id))
        self._emit_request(FILE_REQUEST_SENT, request, recipients=recipients, firm_name=firm["name"],
                           account_name=caller.account["name"])

    @rpc
    def list_file_requests(self, account_id: str, query: dict) -> dict:
        params = validated(schema(PageQuerySchema), query)
        caller = self._staff_writer(account_id)
        items, cursor = file_requests.list_for_account(self.db.session, caller.firm_id, caller.account_id,
                                                       params["limit"], params["cursor"])
        return schema(FileRequestPageSchema).dump({"items": self._with_urls(caller.firm_id, items),
                                             "next_cursor": cursor})

    @rpc
    def get_file_request(self, file_request_id: str) -> dict:
        request, caller = self._file_request(file_request_id)
        return schema(FileRequestSchema).dump(self._with_urls(caller.firm_id, [request])[0])

    @rpc
    @write
    def update_file_request(self, file_request_id: str, payload: dict) -> dict:
        data = validated(schema(FileRequestPatchSchema), payload)
        request, _ = self._file_request(file_request_id, lock=True)
        file_requests.edit_message(request, data["message"])
        self._emit_request(FILE_REQUEST_UPDATED, request)
        return self._answer(request)

    @rpc
    @write
    def resend_file_request(self, file_request_id: str, payload: dict) -> dict:
        data = validated(schema(FileRequestResendSchema), payload)
        request, caller = self._file_request(file_request_id, lock=True)
        self._emit_sent(caller, request, file_requests.resend_to(request, data["recipients"]))
        return self._answer(request)

    @rpc
    @write
    def revoke_file_request(self, file_request_id: str) -> dict:
        """The link stops at once (links revokes it first; doing it again after a crash is harmless)."""
        request, caller = self._file_request(file_request_id, lock=True)
        if request.link_id is not None:
            self.links.revoke_link(link_id=str(request.link_id), firm_id=str(caller.firm_id))
        if file_requests.revoke(request):
            self._emit_request(FILE_REQUEST_REVOKED, request)
        return self._answer(request)

    # -- file requests (the person with the link, through the gateway) ----------------------

    @rpc
    def describe_file_request(self, token: str, address: str) -> dict:
        """What the upload page shows: the message and limits, never what the folder holds."""
        request = self._linked_request(token, address)
        return schema(PublicFileRequestSchema).dump(file_requests.public_fields(request))

    @rpc
    @idempotent  # as begin_upload (a file request's limits count completed files, not uploads begun)
    def begin_link_upload(self, token: str, address: str, payload: dict) -> dict:
        data = validated(schema(LinkUploadRequestSchema), payload)
        request = self._linked_request(token, address)
        upload = file_requests.begin_upload(self.db.session, request, data,
                                            max_upload_bytes=self.settings.max_upload_bytes)
        return self._ticket(upload)

    @rpc
    @write
    def complete_link_uploads(self, token: str, address: str, payload: dict) -> dict:
        """The files of one HTTP request through a link (`UploadBatchSchema`) become documents (or duplicates
        of what came before) in this one transaction, the request's limits counting them all; or none does,
        and all are forgotten at once, as are those of a request revoked or expired meanwhile."""
        items = validated(schema(UploadBatchSchema), payload)["items"]
        upload_ids = [item["upload_id"] for item in items]
        # Before the link is resolved: a Gone link's uploads can never complete, so they are discarded too.
        self.db.on_failure(lambda session: file_requests.discard_if_closed(session, self.store, upload_ids))
        request = self._linked_request(token, address, lock=True)
        batch = file_requests.find_uploads(self.db.session, request, upload_ids)
        for upload in batch:
            self._discard_on_failure(upload.id)
        received = []
        for upload, item in zip(batch, items, strict=True):
            completed = file_requests.receive(self.db.session, self.store, request, upload, size=item["size"],
                                              sha256=item["sha256"], head=item["head"], **self._completion())
            if completed.duplicate_of is None:
                dumped = self._emit_stored(completed.documents)
                self._emit_request(FILE_REQUEST_FILES_RECEIVED, request,
                                   uploader={"name": upload.uploader_name, "email": upload.uploader_email},
                                   documents=[{k: d[k] for k in ("id", "name", "size", "content_type")}
                                              for d in dumped],
                                   received_count=request.received_count)
            received.append(file_requests.what_the_uploader_sees(upload, completed, item["size"]))
        return schema(ReceivedFilesSchema).dump({"items": received})

    @rpc
    @write
    def finish_link_uploads(self, token: str, address: str, payload: dict) -> None:
        """"Done uploading": the firm hears of it once per batch of files."""
        data = validated(schema(DoneUploadingSchema), payload)
        request = self._linked_request(token, address, lock=True)
        if file_requests.press_done(request):
            self._emit_request(FILE_REQUEST_DONE, request,
                               uploader={"name": data["uploader_name"], "email": data["uploader_email"]},
                               received_count=request.received_count)

    # -- the portal's "done uploading" ------------------------------------------------------

    @rpc
    @write
    def client_done_uploading(self, account_id: str) -> None:
        caller = self._authorize(account_id)
        self._principal().require_client()
        uploads.require_done_uploading_button(caller.portal_settings)
        self.db.emit(CLIENT_DONE_UPLOADING, {"account_id": caller.account["id"],
                                             "account_name": caller.account["name"], "user": caller.user},
                     firm_id=caller.firm_id, account_id=caller.account_id)
