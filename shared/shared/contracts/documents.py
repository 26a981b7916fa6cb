"""The documents service's wire contract: what its RPCs accept (validated here) and return (dumped
here), the values its fields take, and the events it emits (declared at the bottom).

The gateway documents its HTTP API from these same schemas; notifications reads the events.
"""
from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from shared.events import declare
from shared.schemas import PageQuerySchema, StrictBoolean, Timestamp, page_schema

# What a client sees of a folder: nothing, its documents, or its documents and uploads into it.
CLIENT_ACCESS = ("none", "view", "view_edit")
# An account's two roots.
ROOTS = ("private", "client")
# Where a document came from.
SOURCES = ("staff", "portal", "link", "chat", "email")
# Who uploaded it: a staff member, a client user, or a person with a link.
UPLOADER_KINDS = ("staff", "client", "link")
# `too_large`: over what the scanner takes (clamd's StreamMaxLength), so never cleared: quarantined like `infected`.
SCAN_STATUSES = ("not_scanned", "pending", "clean", "infected", "too_large")
FILE_REQUEST_STATUSES = ("open", "revoked")
NAME = validate.Length(min=1, max=255)
# The most files one upload request carries (the gateway's multipart parser takes 1,000 parts).
MAX_BATCH = 1000


class FolderCreateSchema(Schema):
    name = fields.String(required=True, validate=NAME)
    parent_id = fields.UUID(load_default=None, metadata={"description": "Default: the root that matches "
                                                                        "`client_access` (the private root for "
                                                                        "`none`, else the client root)"})
    client_access = fields.String(required=True, validate=validate.OneOf(CLIENT_ACCESS),
                                  metadata={"description": "`none` (private), `view` or `view_edit`"})


class FolderSchema(Schema):
    id = fields.UUID()
    account_id = fields.UUID()
    parent_id = fields.UUID(allow_none=True)
    name = fields.String()
    root = fields.String(allow_none=True, validate=validate.OneOf(ROOTS),
                         metadata={"description": "`private` or `client` for the two roots"})
    client_access = fields.String(validate=validate.OneOf(CLIENT_ACCESS))
    created_at = Timestamp()


class FolderListSchema(Schema):
    """Every folder of the account at once (a tree of a few dozen): `next_cursor` is always null."""

    items = fields.List(fields.Nested(FolderSchema))
    next_cursor = fields.String(allow_none=True)


class UploaderSchema(Schema):
    """Who uploaded: a staff member, a client user, or a person with a link (what he typed)."""

    kind = fields.String(validate=validate.OneOf(UPLOADER_KINDS),
                         metadata={"description": "`staff`, `client` or `link`"})
    user_id = fields.UUID(allow_none=True)
    name = fields.String(allow_none=True)
    email = fields.String(allow_none=True)


class DocumentSchema(Schema):
    id = fields.UUID()
    account_id = fields.UUID()
    folder_id = fields.UUID()
    name = fields.String()
    size = fields.Integer()
    content_type = fields.String(metadata={"description": "Sniffed from the content, not taken from the client"})
    sha256 = fields.String()
    source = fields.String(validate=validate.OneOf(SOURCES),
                           metadata={"description": "`staff`, `portal`, `link`, `chat` or `email`"})
    uploaded_by = fields.Method("_uploaded_by", metadata={"description": "UploaderSchema"})
    file_request_id = fields.UUID(allow_none=True)
    archive_id = fields.UUID(allow_none=True, metadata={"description": "The .zip this file was unpacked from"})
    scan_status = fields.String(validate=validate.OneOf(SCAN_STATUSES),
                                metadata={"description": "`not_scanned`, `pending`, `clean`, `infected` or "
                                                         "`too_large` (too large to scan); only not_scanned and clean "
                                                         "files can be downloaded"})
    new = fields.Method("_new", metadata={"description": "True until someone other than the uploader opens it"})
    created_at = Timestamp()
    updated_at = Timestamp()

    def _uploaded_by(self, document: Any) -> dict:
        return UploaderSchema().dump({"kind": document.uploaded_by_kind, "user_id": document.uploaded_by_id,
                                      "name": document.uploader_name, "email": document.uploader_email})

    def _new(self, document: Any) -> bool:
        return document.opened_at is None


DocumentPageSchema = page_schema(DocumentSchema, "DocumentPage")


class DocumentListSchema(Schema):
    """What an upload stored: the file, and for a .zip the files unpacked from it too."""

    items = fields.List(fields.Nested(DocumentSchema))


class DocumentQuerySchema(PageQuerySchema):
    folder_id = fields.UUID(load_default=None, metadata={"description": "Only this folder (not its subfolders)"})
    q = fields.String(load_default=None, validate=validate.Length(max=200),
                      metadata={"description": "Case-insensitive search in the name"})


class DocumentPatchSchema(Schema):
    name = fields.String(validate=NAME, metadata={"description": "Rename"})
    folder_id = fields.UUID(metadata={"description": "Move into this folder of the same account"})

    @validates_schema
    def _something(self, data: dict[str, Any], **_: Any) -> None:
        if not data:
            raise ValidationError("Give `name`, `folder_id` or both.")


class UploadRequestSchema(Schema):
    """The gateway asks before it streams a file: where, under which name, how large at most."""

    folder_id = fields.UUID(load_default=None, metadata={"description": "Default: the account's client root "
                                                                        "for a client, else the private root"})
    filename = fields.String(required=True, validate=validate.Length(min=1, max=4096))
    content_type = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=255))
    size = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=0),
                          metadata={"description": "The body's Content-Length, when the client sent one"})
    unzip = fields.Boolean(load_default=True)


class LinkUploadRequestSchema(UploadRequestSchema):
    uploader_name = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))
    uploader_email = fields.Email(load_default=None, allow_none=True, validate=validate.Length(max=254))
    files_before = fields.Integer(load_default=0, validate=validate.Range(min=0, max=MAX_BATCH),
                                  metadata={"description": "Files of the same HTTP request before this one: a "
                                                           "request's `max_files` counts them"})


class UploadTicketSchema(Schema):
    """Where the gateway writes the bytes, and how many it may write."""

    upload_id = fields.UUID()
    object_key = fields.String()
    max_bytes = fields.Integer()


class UploadedSchema(Schema):
    """What the gateway learned while streaming one file."""

    upload_id = fields.UUID(required=True)
    size = fields.Integer(required=True, validate=validate.Range(min=0))
    sha256 = fields.String(required=True, validate=validate.Regexp(r"^[0-9a-f]{64}$"))


class UploadBatchSchema(Schema):
    """Every file of one HTTP request, once its body has ended cleanly: completed together or not at all."""

    items = fields.List(fields.Nested(UploadedSchema), required=True,
                        validate=validate.Length(min=1, max=MAX_BATCH))

    @validates_schema
    def _once_each(self, data: dict[str, Any], **_: Any) -> None:
        ids = [item["upload_id"] for item in data.get("items", [])]
        if len(set(ids)) != len(ids):
            raise ValidationError("Each upload at most once.", "items")


class UploadCancelSchema(Schema):
    """Uploads the gateway gave up on: forgotten with their bytes."""

    upload_ids = fields.List(fields.UUID(), required=True, validate=validate.Length(min=1, max=MAX_BATCH))


class ReceivedFileSchema(Schema):
    """A link upload's answer: only what the uploader sent, never what else the folder holds."""

    name = fields.String()
    size = fields.Integer()
    duplicate = fields.Boolean(metadata={"description": "The same content came through this link before: "
                                                        "not stored again"})
    received_at = Timestamp(metadata={"description": "When this content first arrived through this link"})


class ReceivedFilesSchema(Schema):
    items = fields.List(fields.Nested(ReceivedFileSchema))


class DownloadSchema(Schema):
    """What the gateway needs to stream a document's bytes."""

    name = fields.String()
    content_type = fields.String()
    size = fields.Integer()
    sha256 = fields.String()
    object_key = fields.String()


# -- file requests --------------------------------------------------------------------------

class FileRequestCreateSchema(Schema):
    folder_id = fields.UUID(required=True)
    message = fields.String(required=True, validate=validate.Length(min=1, max=5000))
    send_email = StrictBoolean(load_default=False)
    recipients = fields.List(fields.Email(validate=validate.Length(max=254)), load_default=list,
                             validate=validate.Length(max=50),
                             metadata={"description": "Any addresses, e.g. the account's users with portal access"})
    expires_at = fields.AwareDateTime(load_default=None, allow_none=True)
    max_files = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=1, max=10_000))
    max_bytes = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=1),
                               metadata={"description": "Per file"})
    allowed_types = fields.List(fields.String(validate=validate.Regexp(r"^[a-z0-9]{1,10}$")), load_default=None,
                                allow_none=True, validate=validate.Length(min=1, max=50),
                                metadata={"description": "File extensions without the dot, e.g. [\"pdf\", \"jpg\"]"})

    @validates_schema
    def _recipients_to_send(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("send_email") and not data.get("recipients"):
            raise ValidationError("Name at least one recipient to send the request to.", "recipients")


class FileRequestPatchSchema(Schema):
    message = fields.String(required=True, validate=validate.Length(min=1, max=5000))


class FileRequestResendSchema(Schema):
    recipients = fields.List(fields.Email(validate=validate.Length(max=254)), load_default=None,
                             validate=validate.Length(min=1, max=50),
                             metadata={"description": "Default: the request's earlier recipients"})


class FileRequestSchema(Schema):
    id = fields.UUID()
    account_id = fields.UUID()
    folder_id = fields.UUID()
    message = fields.String()
    status = fields.String(metadata={"description": "`open` or `revoked`"})
    url = fields.String(allow_none=True, metadata={"description": "The upload page's link, to copy"})
    recipients = fields.List(fields.String())
    expires_at = Timestamp(allow_none=True)
    max_files = fields.Integer(allow_none=True)
    max_bytes = fields.Integer(allow_none=True)
    allowed_types = fields.List(fields.String(), allow_none=True)
    received_count = fields.Integer()
    done_at = Timestamp(allow_none=True, metadata={"description": "When the uploader last pressed done"})
    created_by = fields.UUID(allow_none=True)
    created_at = Timestamp()
    updated_at = Timestamp()
    revoked_at = Timestamp(allow_none=True)


FileRequestPageSchema = page_schema(FileRequestSchema, "FileRequestPage")


class FileRequestEventSchema(Schema):
    """A file request as events carry it (no url: a link's token is in no event)."""

    id = fields.UUID()
    firm_id = fields.UUID()
    account_id = fields.UUID()
    folder_id = fields.UUID()
    message = fields.String()
    status = fields.String(validate=validate.OneOf(FILE_REQUEST_STATUSES))
    link_id = fields.UUID(allow_none=True)
    created_by = fields.UUID(allow_none=True)
    created_at = Timestamp()
    updated_at = Timestamp()


class PublicFileRequestSchema(Schema):
    """What the upload page shows: the message and the limits, nothing of the folder."""

    message = fields.String()
    ask_uploader = fields.Boolean(metadata={"description": "The uploader must give his name and email "
                                                           "(guest accounts file each uploader apart)"})
    expires_at = Timestamp(allow_none=True)
    max_files = fields.Integer(allow_none=True)
    max_bytes = fields.Integer(allow_none=True)
    allowed_types = fields.List(fields.String(), allow_none=True)


class DoneUploadingSchema(Schema):
    uploader_name = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))
    uploader_email = fields.Email(load_default=None, allow_none=True, validate=validate.Length(max=254))


# -- events ---------------------------------------------------------------------------------
# Each event's `data`, exactly (validation is strict). `firm_id` and, for every event here, the
# account's `account_id` are in the envelope (shared.events).


class DocumentEventSchema(DocumentSchema):
    """A document as events carry it: DocumentSchema's dump, loadable so an event's data is checked."""

    uploaded_by = fields.Nested(UploaderSchema, required=True)
    new = fields.Boolean(required=True)


class DeletedDocumentSchema(DocumentEventSchema):
    """A deleted document, with the key of its bytes (removed once the deletion is committed)."""

    object_key = fields.String(required=True)


class FolderCreatedSchema(Schema):
    folder = fields.Nested(FolderSchema, required=True)


class DocumentCreatedSchema(Schema):
    document = fields.Nested(DocumentEventSchema, required=True)


class DocumentUpdatedSchema(Schema):
    document = fields.Nested(DocumentEventSchema, required=True)
    changed = fields.List(fields.String(), required=True, metadata={"description": "`name`, `folder_id`"})


class DocumentDeletedSchema(Schema):
    document = fields.Nested(DeletedDocumentSchema, required=True)


class DocumentQuarantinedSchema(Schema):
    """A virus scan's verdict that keeps the document quarantined for good."""

    document = fields.Nested(DocumentEventSchema, required=True)
    signature = fields.String(required=True, allow_none=True,
                              metadata={"description": "What clamd found (infected), or why it could not scan"})


class FileRequestChangedSchema(Schema):
    file_request = fields.Nested(FileRequestEventSchema, required=True)


class FileRequestSentSchema(Schema):
    file_request = fields.Nested(FileRequestEventSchema, required=True)
    recipients = fields.List(fields.String(), required=True, metadata={"description": "The addresses to email"})
    firm_name = fields.String(required=True)
    account_name = fields.String(required=True)


class LinkUploaderSchema(Schema):
    """What the person with a link typed (guest accounts ask for it)."""

    name = fields.String(required=True, allow_none=True)
    email = fields.String(required=True, allow_none=True)


class ReceivedDocumentSchema(Schema):
    id = fields.UUID(required=True)
    name = fields.String(required=True)
    size = fields.Integer(required=True)
    content_type = fields.String(required=True)


class FileRequestFilesReceivedSchema(Schema):
    file_request = fields.Nested(FileRequestEventSchema, required=True)
    uploader = fields.Nested(LinkUploaderSchema, required=True)
    documents = fields.List(fields.Nested(ReceivedDocumentSchema), required=True,
                            metadata={"description": "What this upload stored (a .zip and its files)"})
    received_count = fields.Integer(required=True, metadata={"description": "Files received through the request"})


class FileRequestDoneSchema(Schema):
    file_request = fields.Nested(FileRequestEventSchema, required=True)
    uploader = fields.Nested(LinkUploaderSchema, required=True)
    received_count = fields.Integer(required=True)


class ClientUserSchema(Schema):
    """The client user, as crm's `authorize_account` names him."""

    id = fields.UUID()
    name = fields.String()
    email = fields.String()


class ClientDoneUploadingSchema(Schema):
    account_id = fields.UUID(required=True)
    account_name = fields.String(required=True)
    user = fields.Nested(ClientUserSchema, required=True)


FOLDER_CREATED = declare("documents", "folder_created", FolderCreatedSchema, "A staff member made a folder")
DOCUMENT_CREATED = declare("documents", "document_created", DocumentCreatedSchema,
                           "A document was stored (each file unpacked from a .zip too)")
DOCUMENT_UPDATED = declare("documents", "document_updated", DocumentUpdatedSchema,
                           "A document was renamed or moved")
DOCUMENT_DELETED = declare("documents", "document_deleted", DocumentDeletedSchema,
                           "A document was deleted; its bytes go when this event is handled")
DOCUMENT_INFECTED = declare("documents", "document_infected", DocumentQuarantinedSchema,
                            "The virus scan found something: the document stays quarantined (actor: none)")
DOCUMENT_TOO_LARGE_TO_SCAN = declare("documents", "document_too_large_to_scan", DocumentQuarantinedSchema,
                                     "The document is too large for the virus scanner: it stays quarantined "
                                     "(actor: none)")
FILE_REQUEST_CREATED = declare("documents", "file_request_created", FileRequestChangedSchema,
                               "A staff member asked for files through a link")
FILE_REQUEST_SENT = declare("documents", "file_request_sent", FileRequestSentSchema,
                            "A file request is to be emailed to its recipients")
FILE_REQUEST_UPDATED = declare("documents", "file_request_updated", FileRequestChangedSchema,
                               "A file request's message changed")
FILE_REQUEST_REVOKED = declare("documents", "file_request_revoked", FileRequestChangedSchema,
                               "A file request was revoked: its link stopped working")
FILE_REQUEST_FILES_RECEIVED = declare("documents", "file_request_files_received", FileRequestFilesReceivedSchema,
                                      "Files arrived through a file request's link (actor: none)")
FILE_REQUEST_DONE = declare("documents", "file_request_done", FileRequestDoneSchema,
                            "The person with a file request's link pressed Done uploading after new files "
                            "(actor: none)")
CLIENT_DONE_UPLOADING = declare("documents", "client_done_uploading", ClientDoneUploadingSchema,
                                "A client user pressed Done uploading in the portal")
