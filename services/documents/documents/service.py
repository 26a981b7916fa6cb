"""The documents service's entrypoints: validate, authorise (crm), call the domain, commit, dump.

Bytes never come here over RabbitMQ: the gateway streams them into the object store between
`begin_*upload` and `complete_*upload` (see documents/uploads.py). Link uploads carry the link's
token, which this service resolves with the links service itself on every call, so a revoked
or expired link stops working at once.
"""
from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any

from nameko.rpc import RpcProxy
from nameko.timer import timer

from documents import archive, file_requests, folders, library, scanning, uploads
from documents.models import Document, FileRequest, Upload, messaging
from documents.schemas import (
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
    UploadedSchema,
    UploadRequestSchema,
    UploadTicketSchema,
)
from shared.config import load_settings
from shared.context import require_principal
from shared.dependencies import Database, Storage
from shared.entrypoints import event_handler, write
from shared.errors import Conflict, Forbidden, Gone, NotFound, PortaError
from shared.rpc import rpc
from shared.schemas import PageQuerySchema, validated
from shared.service import PortaService

log = logging.getLogger(__name__)

SWEEP_INTERVAL = 600  # seconds between sweeps of uploads nobody completed


def _id(value: Any, what: str = "document") -> uuid.UUID:
    """An id that is not a UUID names nothing: 404, like an id of another firm."""
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise NotFound(f"No such {what}.") from None


@dataclass(frozen=True)
class Caller:
    """A logged-in caller, authorised by crm for one account."""

    firm_id: uuid.UUID
    user_id: uuid.UUID
    client: bool
    account: dict
    user: dict
    portal_settings: dict | None


class DocumentsService(PortaService):
    name = "documents"
    db = Database(messaging)
    store = Storage()
    crm = RpcProxy("crm")
    links = RpcProxy("links")

    # -- who is calling ---------------------------------------------------------------------

    def _authorize(self, account_id: Any, right: str | None = None) -> Caller:
        """crm decides whether the caller may open this account (and holds `right`)."""
        principal = require_principal(self.context.principal)
        answer = self.crm.authorize_account(account_id=str(_id(account_id, "account")), right=right)
        return Caller(firm_id=uuid.UUID(principal.firm_id), user_id=uuid.UUID(principal.user_id),
                      client=answer["principal_kind"] == "client", account=answer["account"], user=answer["user"],
                      portal_settings=answer.get("portal_settings"))

    def _staff_writer(self, account_id: Any) -> Caller:
        """Document writes need the `manage_documents` right; a client never has it."""
        principal = require_principal(self.context.principal)
        if principal.kind != "staff":
            raise Forbidden("This is for the firm's staff.")
        return self._authorize(account_id, "manage_documents")

    def _document(self, document_id: Any, right: str | None = None) -> tuple[Document, Caller]:
        principal = require_principal(self.context.principal)
        document = library.find_document(self.db.session, uuid.UUID(principal.firm_id), _id(document_id))
        if right is not None and principal.kind != "staff":
            raise Forbidden("This is for the firm's staff.")
        caller = self._authorize(document.account_id, right)
        return library.visible_document(self.db.session, document, client=caller.client), caller

    def _file_request(self, request_id: Any, *, lock: bool = False) -> tuple[FileRequest, Caller]:
        principal = require_principal(self.context.principal)
        if principal.kind != "staff":
            raise Forbidden("This is for the firm's staff.")
        request = file_requests.find(self.db.session, uuid.UUID(principal.firm_id), _id(request_id, "file request"),
                                     lock=lock)
        return request, self._authorize(request.account_id, "manage_documents")

    def _linked_request(self, token: str, address: str, *, lock: bool = False) -> FileRequest:
        """The open file request a live link token stands for (links counts wrong guesses)."""
        link = self.links.resolve_link(token=token, address=address, kind="file_request")
        request = file_requests.find(self.db.session, uuid.UUID(link["firm_id"]),
                                     _id(link["target"]["id"], "file request"), lock=lock)
        file_requests.require_open(request)
        return request

    # -- folders ----------------------------------------------------------------------------

    @rpc
    def list_folders(self, account_id: str) -> dict:
        caller = self._authorize(account_id)
        items = folders.list_folders(self.db.session, caller.firm_id, uuid.UUID(caller.account["id"]),
                                     client=caller.client)
        result = FolderListSchema().dump({"items": items, "next_cursor": None})
        # An account's first use makes its two roots; making them is idempotent, so a read needs
        # no once-per-call record (a stored result per read would grow without end).
        self.db.commit()
        return result

    @rpc
    @write
    def create_folder(self, account_id: str, payload: dict) -> dict:
        data = validated(FolderCreateSchema(), payload)
        caller = self._staff_writer(account_id)
        folder = FolderSchema().dump(folders.create_folder(self.db.session, caller.firm_id,
                                                           uuid.UUID(caller.account["id"]), caller.user_id, data))
        self.db.emit("folder_created", {"firm_id": str(caller.firm_id), "folder": folder})
        return folder

    # -- documents --------------------------------------------------------------------------

    @rpc
    def list_documents(self, account_id: str, query: dict) -> dict:
        params = validated(DocumentQuerySchema(), query)
        caller = self._authorize(account_id)
        items, cursor = library.list_documents(self.db.session, caller.firm_id, uuid.UUID(caller.account["id"]),
                                               params, client=caller.client)
        return DocumentPageSchema().dump({"items": items, "next_cursor": cursor})

    @rpc
    def get_document(self, document_id: str) -> dict:
        document, _ = self._document(document_id)
        return DocumentSchema().dump(document)

    @rpc
    @write
    def update_document(self, document_id: str, payload: dict) -> dict:
        data = validated(DocumentPatchSchema(), payload)
        document, caller = self._document(document_id, "manage_documents")
        result = DocumentSchema().dump(library.update_document(self.db.session, document, data))
        self.db.emit("document_updated", {"firm_id": str(caller.firm_id), "document": result,
                                          "changed": sorted(data)})
        return result

    @rpc
    @write
    def delete_document(self, document_id: str) -> None:
        document, caller = self._document(document_id, "manage_documents")
        gone = {**DocumentSchema().dump(document), "object_key": document.object_key}
        library.delete_document(self.db.session, document)
        self.db.emit("document_deleted", {"firm_id": str(caller.firm_id), "document": gone})

    @event_handler("documents", "document_deleted")
    def remove_deleted_bytes(self, event: dict) -> None:
        """The bytes of a deleted document go once its row is gone for good (after the commit)."""
        self.store.remove(event["data"]["document"]["object_key"])

    @rpc
    def open_document(self, document_id: str, account_id: str | None = None) -> dict:
        """For a download: where the bytes are. Clears NEW when someone other than the uploader opens
        it. A portal path names the account too: a document of another account is not found there."""
        document, caller = self._document(document_id)
        if account_id is not None and str(document.account_id) != str(_id(account_id, "document")):
            raise NotFound("No such document.")
        library.open_document(self.db.session, document, caller.user_id)
        result = DownloadSchema().dump(document)
        self.db.commit()  # clearing NEW happens once whatever the deliveries: no once-per-call record
        return result

    # -- uploads by logged-in users ---------------------------------------------------------

    def _settings(self) -> Any:
        return load_settings()

    @rpc
    @write
    def begin_upload(self, account_id: str, payload: dict) -> dict:
        """Before the bytes: where they go and how many may come. Staff need `manage_documents`;
        a client uploads into folders he may edit (the client root by default)."""
        data = validated(UploadRequestSchema(), payload)
        principal = require_principal(self.context.principal)
        caller = (self._staff_writer(account_id) if principal.kind == "staff" else self._authorize(account_id))
        account_id_ = uuid.UUID(caller.account["id"])
        folder = (folders.get_folder(self.db.session, caller.firm_id, account_id_, data["folder_id"],
                                     client=caller.client) if data["folder_id"]
                  else folders.default_folder(self.db.session, caller.firm_id, account_id_, client=caller.client))
        if caller.client:
            folders.require_client_upload(folder)
        uploader = uploads.Uploader(kind="client" if caller.client else "staff",
                                    source="portal" if caller.client else "staff", user_id=caller.user_id,
                                    name=caller.user.get("name"), email=caller.user.get("email"))
        upload = uploads.begin(self.db.session, folder=folder, filename=data["filename"],
                               declared_type=data["content_type"], size=data["size"], unzip=data["unzip"],
                               uploader=uploader, max_bytes=self._settings().max_upload_bytes)
        return self._ticket(upload)

    def _ticket(self, upload: Upload) -> dict:
        return UploadTicketSchema().dump({"upload_id": upload.id, "object_key": upload.object_key,
                                          "max_bytes": upload.max_bytes})

    def _limits(self) -> archive.ArchiveLimits:
        settings = self._settings()
        return archive.ArchiveLimits(max_entries=settings.zip_max_entries, max_total_bytes=settings.zip_max_bytes,
                                     max_ratio=settings.zip_max_ratio)

    def _complete(self, upload: Upload, data: dict, allowed_types: list[str] | None = None) -> uploads.Completed:
        """Complete, or on refusal delete what was stored and forget the upload before raising."""
        upload_id = upload.id
        try:
            # With a scanner configured, a new file is quarantined until it clears it (scan_new_document).
            return uploads.complete(self.db.session, self.store, upload, size=data["size"], sha256=data["sha256"],
                                    limits=self._limits(), allowed_types=allowed_types,
                                    scan_status="pending" if self._settings().clamd_address else "not_scanned")
        except PortaError:
            self._discard(upload_id)
            raise

    def _discard(self, upload_id: uuid.UUID) -> None:
        """Drop this call's changes, delete the upload's objects and row, and commit that now,
        because the error about to go out would roll it back."""
        self.db.rollback()
        uploads.discard(self.db.session, self.store, upload_id)
        self.db.commit()

    def _emit_stored(self, documents: list[Document]) -> list[dict]:
        dumped = [DocumentSchema().dump(d) for d in documents]
        for document in dumped:
            self.db.emit("document_created", {"firm_id": str(documents[0].firm_id), "document": document})
        return dumped

    @event_handler("documents", "document_created")
    def scan_new_document(self, event: dict) -> None:
        """A new document waiting for its virus scan gets its verdict (documents/scanning.py): its bytes
        stream from the store to clamd. No verdict raises, so the event comes back after a pause and the
        document stays pending, quarantined. `document_infected` / `document_too_large_to_scan` tell the firm."""
        document = self.db.session.get(Document, uuid.UUID(event["data"]["document"]["id"]))
        if document is None or document.scan_status != "pending":
            return  # deleted since, not scanned (scanning off), or another delivery recorded the verdict
        address = self._settings().clamd_address
        if not address:
            raise scanning.ScannerUnavailable(f"document {document.id} waits for a scan but PORTA_CLAMD_ADDRESS "
                                              "is empty")
        download = self.store.open(document.object_key)
        try:
            verdict = scanning.Clamd(address).scan(download.chunks)
        finally:
            download.close()
        if scanning.record_verdict(self.db.session, document, verdict) and verdict.status != "clean":
            self.db.emit("document_infected" if verdict.status == "infected" else "document_too_large_to_scan",
                         {"firm_id": str(document.firm_id), "document": DocumentSchema().dump(document),
                          "signature": verdict.signature})

    @rpc
    @write
    def complete_upload(self, upload_id: str, payload: dict) -> dict:
        data = validated(UploadedSchema(), payload)
        principal = require_principal(self.context.principal)
        upload = uploads.find_upload(self.db.session, _id(upload_id, "upload"), lock=True)
        if str(upload.uploaded_by_id) != principal.user_id or str(upload.firm_id) != principal.firm_id:
            raise NotFound("No such upload.")
        completed = self._complete(upload, data)
        return {"items": self._emit_stored(completed.documents)}

    @rpc
    @write
    def cancel_upload(self, upload_id: str) -> None:
        """The gateway gave up on the bytes (too large, client gone): forget the upload now. A
        logged-in caller cancels only his own uploads; a call without one, only link uploads."""
        upload = self.db.session.get(Upload, _id(upload_id, "upload"))
        if upload is None:
            return
        principal = self.context.principal
        mine = (str(upload.uploaded_by_id) == principal.user_id and str(upload.firm_id) == principal.firm_id
                if principal is not None else upload.uploaded_by_kind == "link")
        if not mine:
            raise NotFound("No such upload.")
        uploads.discard(self.db.session, self.store, upload.id)

    @timer(interval=SWEEP_INTERVAL)
    def sweep_uploads(self) -> None:
        swept = uploads.sweep_expired(self.db.session, self.store)
        self.db.commit()
        if swept:
            log.info("swept %d uploads nobody completed", swept)

    # -- file requests (staff) --------------------------------------------------------------

    def _urls(self, firm_id: uuid.UUID, requests: list[FileRequest]) -> dict[str, str | None]:
        """Each open request's link, to copy (the links service keeps the token sealed)."""
        ids = [str(r.link_id) for r in requests if r.link_id is not None and r.status == "open"]
        if not ids:
            return {}
        base = self._settings().base_url
        revealed = self.links.reveal_links(firm_id=str(firm_id), link_ids=ids)["items"]
        return {item["id"]: f"{base}/p/{item['token']}" for item in revealed if item["token"] and item["live"]}

    def _with_urls(self, firm_id: uuid.UUID, requests: list[FileRequest]) -> list[dict]:
        urls = self._urls(firm_id, requests)
        return [{**_fields(r), "url": urls.get(str(r.link_id))} for r in requests]

    def _request_event(self, request: FileRequest) -> dict:
        return FileRequestEventSchema().dump(request)

    @rpc
    @write
    def create_file_request(self, account_id: str, payload: dict) -> dict:
        """The request and its link. The reply has no url: a stored (replayable) reply must not
        hold the link's token, so the caller reads the url with `get_file_request`."""
        data = validated(FileRequestCreateSchema(), payload)
        caller = self._staff_writer(account_id)
        folder = folders.get_folder(self.db.session, caller.firm_id, uuid.UUID(caller.account["id"]),
                                    data["folder_id"], client=False)
        request = file_requests.create(self.db.session, folder, caller.user_id, data,
                                       guest=bool(caller.account.get("guest")))
        link = self.links.issue_link(payload={
            "firm_id": str(caller.firm_id), "kind": "file_request",
            "target": {"type": "file_request", "id": str(request.id)}, "single_use": False, "retrievable": True,
            "expires_at": request.expires_at.isoformat() if request.expires_at else None,
        })
        request.link_id = uuid.UUID(link["id"])
        self.db.session.flush()
        self.db.emit("file_request_created", {"file_request": self._request_event(request)})
        if data["send_email"]:
            self._emit_sent(caller, request, list(request.recipients))
        return FileRequestSchema().dump({**_fields(request), "url": None})

    def _emit_sent(self, caller: Caller, request: FileRequest, recipients: list[str]) -> None:
        firm = self.crm.describe_firm(firm_id=str(caller.firm_id))
        self.db.emit("file_request_sent", {"file_request": self._request_event(request), "recipients": recipients,
                                           "firm_name": firm["name"], "account_name": caller.account["name"]})

    @rpc
    def list_file_requests(self, account_id: str, query: dict) -> dict:
        params = validated(PageQuerySchema(), query)
        caller = self._staff_writer(account_id)
        items, cursor = file_requests.list_for_account(self.db.session, caller.firm_id,
                                                       uuid.UUID(caller.account["id"]), params["limit"],
                                                       params["cursor"])
        return FileRequestPageSchema().dump({"items": self._with_urls(caller.firm_id, items),
                                             "next_cursor": cursor})

    @rpc
    def get_file_request(self, file_request_id: str) -> dict:
        request, caller = self._file_request(file_request_id)
        return FileRequestSchema().dump(self._with_urls(caller.firm_id, [request])[0])

    @rpc
    @write
    def update_file_request(self, file_request_id: str, payload: dict) -> dict:
        data = validated(FileRequestPatchSchema(), payload)
        request, _ = self._file_request(file_request_id, lock=True)
        file_requests.edit_message(request, data["message"])
        self.db.session.flush()
        self.db.emit("file_request_updated", {"file_request": self._request_event(request)})
        return FileRequestSchema().dump({**_fields(request), "url": None})

    @rpc
    @write
    def resend_file_request(self, file_request_id: str, payload: dict) -> dict:
        data = validated(FileRequestResendSchema(), payload)
        request, caller = self._file_request(file_request_id, lock=True)
        recipients = file_requests.resend_to(request, data["recipients"])
        self.db.session.flush()
        self._emit_sent(caller, request, recipients)
        return FileRequestSchema().dump({**_fields(request), "url": None})

    @rpc
    @write
    def revoke_file_request(self, file_request_id: str) -> dict:
        """The link stops at once (links revokes it first; doing it again after a crash is harmless)."""
        request, caller = self._file_request(file_request_id, lock=True)
        if request.link_id is not None:
            self.links.revoke_link(link_id=str(request.link_id), firm_id=str(caller.firm_id))
        if file_requests.revoke(request):
            self.db.session.flush()
            self.db.emit("file_request_revoked", {"file_request": self._request_event(request)})
        return FileRequestSchema().dump({**_fields(request), "url": None})

    # -- file requests (the person with the link, through the gateway) ----------------------

    @rpc
    def describe_file_request(self, token: str, address: str) -> dict:
        """What the upload page shows: the message and limits, never what the folder holds."""
        request = self._linked_request(token, address)
        return PublicFileRequestSchema().dump({**_fields(request), "ask_uploader": request.guest})

    @rpc
    @write
    def begin_link_upload(self, token: str, address: str, payload: dict) -> dict:
        data = validated(LinkUploadRequestSchema(), payload)
        request = self._linked_request(token, address)
        file_requests.check_room(request, data["filename"], data["size"])
        folder = file_requests.upload_folder(self.db.session, request, data["uploader_name"], data["uploader_email"])
        uploader = uploads.Uploader(kind="link", source="link", name=data["uploader_name"],
                                    email=data["uploader_email"])
        upload = uploads.begin(self.db.session, folder=folder, filename=data["filename"],
                               declared_type=data["content_type"], size=data["size"], unzip=data["unzip"],
                               uploader=uploader, file_request=request,
                               max_bytes=file_requests.max_bytes(request, self._settings().max_upload_bytes))
        return self._ticket(upload)

    @rpc
    @write
    def complete_link_upload(self, upload_id: str, token: str, address: str, payload: dict) -> dict:
        data = validated(UploadedSchema(), payload)
        try:
            request = self._linked_request(token, address, lock=True)
        except Gone:
            self._discard_closed(_id(upload_id, "upload"))
            raise
        upload = uploads.find_upload(self.db.session, _id(upload_id, "upload"), lock=True)
        if upload.file_request_id != request.id:
            raise NotFound("No such upload.")
        if request.max_files is not None and request.received_count >= request.max_files:
            # Files raced in beside this one while its bytes were on their way.
            self._discard(upload.id)
            raise Conflict(f"This request takes at most {request.max_files} files, and all have arrived.")
        completed = self._complete(upload, data, request.allowed_types)
        if completed.duplicate_of is not None:
            earlier = completed.duplicate_of
            uploads.discard(self.db.session, self.store, upload.id)
            return ReceivedFilesSchema().dump({"items": [{"name": upload.filename, "size": data["size"],
                                                          "duplicate": True, "received_at": earlier.created_at}]})
        file_requests.note_received(request, completed.documents)
        self.db.session.flush()
        dumped = self._emit_stored(completed.documents)
        self.db.emit("file_request_files_received", {
            "file_request": self._request_event(request),
            "uploader": {"name": upload.uploader_name, "email": upload.uploader_email},
            "documents": [{k: d[k] for k in ("id", "name", "size", "content_type")} for d in dumped],
            "received_count": request.received_count,
        })
        # The uploader sees what he sent, nothing else: not the folder, not the unpacked names.
        stored = completed.documents[0]
        return ReceivedFilesSchema().dump({"items": [{"name": stored.name, "size": stored.size, "duplicate": False,
                                                      "received_at": stored.created_at}]})

    def _discard_closed(self, upload_id: uuid.UUID) -> None:
        """The link was revoked or expired while the bytes were on their way: an upload into a
        request that is no longer open can never complete, so it goes now, not with the sweeper."""
        self.db.rollback()
        upload = self.db.session.get(Upload, upload_id)
        if upload is not None and upload.file_request_id is not None:
            request = self.db.session.get(FileRequest, upload.file_request_id)
            try:
                file_requests.require_open(request)
            except Gone:
                self._discard(upload_id)

    @rpc
    @write
    def finish_link_uploads(self, token: str, address: str, payload: dict) -> None:
        """"Done uploading": the firm hears of it once per batch of files."""
        data = validated(DoneUploadingSchema(), payload)
        request = self._linked_request(token, address, lock=True)
        if file_requests.press_done(request):
            self.db.session.flush()
            self.db.emit("file_request_done", {
                "file_request": self._request_event(request),
                "uploader": {"name": data["uploader_name"], "email": data["uploader_email"]},
                "received_count": request.received_count,
            })

    # -- the portal's "done uploading" ------------------------------------------------------

    @rpc
    @write
    def client_done_uploading(self, account_id: str) -> None:
        caller = self._authorize(account_id)
        if not caller.client:
            raise Forbidden("This is for client users.")
        if not (caller.portal_settings or {}).get("done_uploading"):
            raise Forbidden("The firm has not turned on the Done uploading button.")
        self.db.emit("client_done_uploading", {
            "firm_id": str(caller.firm_id), "account_id": caller.account["id"],
            "account_name": caller.account["name"], "user": caller.user,
        })


def _fields(request: FileRequest) -> dict:
    return {column.key: getattr(request, column.key) for column in FileRequest.__table__.columns}
