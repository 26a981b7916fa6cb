"""The documents service's wire contract: what its RPCs accept (validated here) and return (dumped
here), the values its fields take, and the events it emits (declared at the bottom).

The gateway documents its HTTP API from these same schemas; notifications reads the events.
"""
from __future__ import annotations

import base64
import binascii
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

# Shares' and approvals' contracts live in modules of their own; their events are documents' too, named here.
from shared.contracts.approvals import APPROVAL_DECIDED, APPROVAL_REQUESTED, APPROVER_EMAIL_DUE  # noqa: F401
from shared.contracts.shares import (  # noqa: F401
    SHARE_CREATED,
    SHARE_DOWNLOADED,
    SHARE_OPENED,
    SHARE_RECIPIENT_REVOKED,
    SHARE_RECIPIENT_UPDATED,
    SHARE_REVOKED,
    SHARE_SENT,
)
from shared.events import declare
from shared.schemas import PageQuerySchema, StrictBoolean, Timestamp, page_schema, schema
from shared.storage import HEAD_BYTES

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
        return schema(UploaderSchema).dump({"kind": document.uploaded_by_kind, "user_id": document.uploaded_by_id,
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


class Base64Bytes(fields.Field):
    """Bytes on the wire as a base64 string (RPC payloads are JSON)."""

    default_error_messages = {"invalid": "Not a base64 string."}

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return None if value is None else base64.b64encode(value).decode("ascii")

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bytes:
        if not isinstance(value, str):
            raise self.make_error("invalid")
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise self.make_error("invalid") from None


class UploadedSchema(Schema):
    """What the gateway learned while streaming one file: its size, hash and first bytes (what documents
    sniffs its type from, so the object is never read back to find it)."""

    upload_id = fields.UUID(required=True)
    size = fields.Integer(required=True, validate=validate.Range(min=0))
    sha256 = fields.String(required=True, validate=validate.Regexp(r"^[0-9a-f]{64}$"))
    head = Base64Bytes(required=True, validate=validate.Length(max=HEAD_BYTES),
                       metadata={"description": f"The file's first min(size, {HEAD_BYTES}) bytes"})

    @validates_schema
    def _whole_head(self, data: dict[str, Any], **_: Any) -> None:
        if "head" in data and "size" in data and len(data["head"]) != min(data["size"], HEAD_BYTES):
            raise ValidationError(f"The first min(size, {HEAD_BYTES}) bytes of the file.", "head")


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


# -- client requests (questionnaires answered through a link or the portal) -------------------------
# One block: the client-request schemas and events (docs/client_requests.md tells the whole story).

QUESTION_KINDS = ("text", "number", "yes_no", "choice", "date", "file")
CLIENT_REQUEST_STATUSES = ("sent", "submitted", "canceled")
# Who submitted: the person with the link, or a client user in the portal.
SUBMITTER_KINDS = ("link", "client")
QUESTION_ID = validate.Regexp(r"^[A-Za-z0-9_-]{1,40}$", error="Use 1 to 40 letters, digits, '-' or '_'.")
MAX_QUESTIONS = 100
MAX_OPTIONS = 50
MAX_TEXT_ANSWER = 10_000
# Files one file question takes, in all.
MAX_QUESTION_FILES = 50


class QuestionSchema(Schema):
    id = fields.String(load_default=None, validate=QUESTION_ID,
                       metadata={"description": "Made up when absent; unique within the request"})
    kind = fields.String(required=True, validate=validate.OneOf(QUESTION_KINDS),
                         metadata={"description": "`text`, `number`, `yes_no`, `choice`, `date` or `file`"})
    label = fields.String(required=True, validate=validate.Length(min=1, max=500))
    required = StrictBoolean(load_default=False)
    options = fields.List(fields.String(validate=validate.Length(min=1, max=200)), load_default=None,
                          allow_none=True, validate=validate.Length(min=1, max=MAX_OPTIONS),
                          metadata={"description": "The choices of a `choice` question (and only of one)"})

    @validates_schema
    def _options_only_for_choice(self, data: dict[str, Any], **_: Any) -> None:
        options = data.get("options")
        if data.get("kind") == "choice" and not options:
            raise ValidationError("A choice question needs its options.", "options")
        if data.get("kind") != "choice" and options is not None:
            raise ValidationError("Only a choice question has options.", "options")
        if options and len({o.strip() for o in options}) != len(options):
            raise ValidationError("Each option once.", "options")


class ClientRequestCreateSchema(Schema):
    title = fields.String(required=True, validate=validate.Length(min=1, max=200))
    message = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=5000))
    questions = fields.List(fields.Nested(QuestionSchema), required=True,
                            validate=validate.Length(min=1, max=MAX_QUESTIONS))
    recipients = fields.List(fields.Email(validate=validate.Length(max=254)), load_default=list,
                             validate=validate.Length(max=50),
                             metadata={"description": "Emailed the request. With `login_required`, each must be "
                                                      "an address of the account with portal LOGIN on"})
    login_required = StrictBoolean(required=True, metadata={
        "description": "true: answered only in the portal (no link); false: a link anyone who has it can answer"})
    expires_at = fields.AwareDateTime(load_default=None, allow_none=True,
                                      metadata={"description": "When the link stops working (default: never)"})

    @validates_schema
    def _question_ids_once(self, data: dict[str, Any], **_: Any) -> None:
        ids = [q["id"] for q in data.get("questions") or [] if q.get("id")]
        if len(set(ids)) != len(ids):
            raise ValidationError("Each question id once.", "questions")


class SubmitterSchema(Schema):
    kind = fields.String(validate=validate.OneOf(SUBMITTER_KINDS),
                         metadata={"description": "`link` (the person with the link) or `client` (portal)"})
    user_id = fields.UUID(allow_none=True)
    name = fields.String(allow_none=True)
    email = fields.String(allow_none=True)


ANSWERS_TEXT = ("Answers by question id: text a string, number a number, yes_no a boolean, choice one of the "
                "options, date `YYYY-MM-DD`, file the ids of documents uploaded for that question")


class ClientRequestSchema(Schema):
    id = fields.UUID()
    account_id = fields.UUID()
    title = fields.String()
    message = fields.String(allow_none=True)
    status = fields.String(validate=validate.OneOf(CLIENT_REQUEST_STATUSES),
                           metadata={"description": "`sent`, `submitted` or `canceled`"})
    login_required = fields.Boolean()
    recipients = fields.List(fields.String())
    questions = fields.List(fields.Nested(QuestionSchema))
    answers = fields.Dict(keys=fields.String(), values=fields.Raw(allow_none=True),
                          metadata={"description": ANSWERS_TEXT})
    document_ids = fields.Dict(keys=fields.String(), values=fields.List(fields.UUID()),
                               metadata={"description": "Per file question, every document uploaded for it"})
    url = fields.String(allow_none=True, metadata={"description": "The questionnaire's link, to copy; null with "
                                                                  "`login_required` or once canceled"})
    expires_at = Timestamp(allow_none=True)
    created_by = fields.UUID(allow_none=True)
    created_at = Timestamp()
    updated_at = Timestamp()
    answered_at = Timestamp(allow_none=True, metadata={"description": "When answers were last saved"})
    submitted_at = Timestamp(allow_none=True)
    submitted_by = fields.Nested(SubmitterSchema, allow_none=True)
    canceled_at = Timestamp(allow_none=True)


ClientRequestPageSchema = page_schema(ClientRequestSchema, "ClientRequestPage")


class AnswerFileSchema(Schema):
    """A file uploaded for a file question, as the person answering sees it."""

    id = fields.UUID()
    name = fields.String()
    size = fields.Integer()


class PublicClientRequestSchema(Schema):
    """What the person answering sees (the link's page, the portal): the questions and his own answers."""

    title = fields.String()
    message = fields.String(allow_none=True)
    status = fields.String(validate=validate.OneOf(CLIENT_REQUEST_STATUSES))
    questions = fields.List(fields.Nested(QuestionSchema))
    answers = fields.Dict(keys=fields.String(), values=fields.Raw(allow_none=True),
                          metadata={"description": ANSWERS_TEXT})
    files = fields.Dict(keys=fields.String(), values=fields.List(fields.Nested(AnswerFileSchema)),
                        metadata={"description": "Per file question, the files its answer holds"})
    expires_at = Timestamp(allow_none=True)
    submitted_at = Timestamp(allow_none=True)


class LinkClientRequestSchema(PublicClientRequestSchema):
    """documents' `describe_client_request` reply as the gateway passes it on (its times already strings)."""

    expires_at = fields.String(allow_none=True, metadata={"format": "date-time"})
    submitted_at = fields.String(allow_none=True, metadata={"format": "date-time"})


class PortalClientRequestSchema(PublicClientRequestSchema):
    id = fields.UUID()
    account_id = fields.UUID()
    login_required = fields.Boolean()
    created_at = Timestamp()


PortalClientRequestPageSchema = page_schema(PortalClientRequestSchema, "PortalClientRequestPage")


class AnswersSchema(Schema):
    answers = fields.Dict(keys=fields.String(validate=validate.Length(min=1, max=40)),
                          values=fields.Raw(allow_none=True), load_default=dict,
                          validate=validate.Length(max=MAX_QUESTIONS),
                          metadata={"description": ANSWERS_TEXT + ". Only the questions named change (null clears "
                                                                  "one); the others keep their saved answers"})
    submit = StrictBoolean(load_default=False, metadata={
        "description": "Submit after saving: every required question must be answered (422 naming those that "
                       "are not); the answers are final from then on (409 to any later write)"})


class QuestionUploadSchema(UploadRequestSchema):
    """A file for a file question: into the account's client root, never unpacked."""

    question_id = fields.String(required=True, validate=QUESTION_ID)
    files_before = fields.Integer(load_default=0, validate=validate.Range(min=0, max=MAX_BATCH),
                                  metadata={"description": "Files of the same HTTP request before this one"})


class AnswerFilesSchema(Schema):
    """What a file question's upload stored: the files, and the question's answer with them."""

    items = fields.List(fields.Nested(AnswerFileSchema))
    question_id = fields.String()
    answer = fields.List(fields.UUID(), metadata={"description": "The question's answer now: its document ids"})


class ClientRequestEventSchema(Schema):
    """A client request as events carry it: no answers (the feed keeps event data), no url."""

    id = fields.UUID()
    firm_id = fields.UUID()
    account_id = fields.UUID()
    title = fields.String()
    status = fields.String(validate=validate.OneOf(CLIENT_REQUEST_STATUSES))
    login_required = fields.Boolean()
    link_id = fields.UUID(allow_none=True)
    created_by = fields.UUID(allow_none=True)
    created_at = Timestamp()
    updated_at = Timestamp()
    submitted_at = Timestamp(allow_none=True)
    canceled_at = Timestamp(allow_none=True)


class ClientRequestChangedSchema(Schema):
    client_request = fields.Nested(ClientRequestEventSchema, required=True)


class ClientRequestSentSchema(Schema):
    client_request = fields.Nested(ClientRequestEventSchema, required=True)
    recipients = fields.List(fields.String(), required=True, metadata={"description": "The addresses to email"})
    firm_name = fields.String(required=True)
    account_name = fields.String(required=True)
    message = fields.String(required=True, allow_none=True)


class ClientRequestSubmittedSchema(Schema):
    client_request = fields.Nested(ClientRequestEventSchema, required=True)
    submitted_by = fields.Nested(SubmitterSchema, required=True)
    answered = fields.Integer(required=True, metadata={"description": "Questions answered"})
    questions = fields.Integer(required=True, metadata={"description": "Questions asked"})
    documents = fields.Integer(required=True, metadata={"description": "Files the answers hold"})


CLIENT_REQUEST_CREATED = declare("documents", "client_request_created", ClientRequestChangedSchema,
                                 "A staff member sent a client request (a questionnaire)")
CLIENT_REQUEST_SENT = declare("documents", "client_request_sent", ClientRequestSentSchema,
                              "A client request is to be emailed to its recipients")
CLIENT_REQUEST_SUBMITTED = declare("documents", "client_request_submitted", ClientRequestSubmittedSchema,
                                   "The answers to a client request were submitted (once per request)")
CLIENT_REQUEST_CANCELED = declare("documents", "client_request_canceled", ClientRequestChangedSchema,
                                  "A client request was canceled: its link stopped working")


# -- signature requests (documents/signatures.py) -------------------------------------------
# A request is `pending` until every signer signed (`signed`), one declined (`declined`), a pending
# signer's link ran out (`expired`; a resend revives it) or staff canceled it (`canceled`).
SIGNATURE_REQUEST_STATUSES = ("pending", "signed", "declined", "expired", "canceled")
# What a signer's row stores; `expired` and `canceled` are shown for a pending one (his link ran out,
# the request was canceled).
SIGNER_STATES = ("pending", "signed", "declined")
SIGNER_STATUSES = ("pending", "signed", "declined", "expired", "canceled")
# Every signing link is valid this long from its email (the article: seven days); a resend starts again.
SIGNING_LINK_DAYS = 7
MAX_SIGNERS = 20
# Why a signer is emailed his link.
SIGNER_EMAIL_REASONS = ("request", "resend", "reminder")


class SignerInputSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    email = fields.Email(required=True, validate=validate.Length(max=254))


class SignatureRequestCreateSchema(Schema):
    signers = fields.List(fields.Nested(SignerInputSchema), required=True,
                          validate=validate.Length(min=1, max=MAX_SIGNERS),
                          metadata={"description": "Portal users of the account or any addresses; each is emailed "
                                                   "his own link, valid 7 days"})
    message = fields.String(load_default="", validate=validate.Length(max=5000))
    reminders = StrictBoolean(load_default=True, metadata={"description": "Remind signers who have not signed "
                                                                          "(category `documents_signature`)"})

    @validates_schema
    def _each_signer_once(self, data: dict[str, Any], **_: Any) -> None:
        emails = [signer["email"].strip().lower() for signer in data.get("signers", [])]
        if len(set(emails)) != len(emails):
            raise ValidationError("Each signer's email at most once.", "signers")


class SignerSchema(Schema):
    id = fields.UUID()
    name = fields.String(metadata={"description": "As the firm named him"})
    email = fields.String()
    status = fields.String(validate=validate.OneOf(SIGNER_STATUSES),
                           metadata={"description": "`pending`, `signed`, `declined`, `expired` (his link ran "
                                                    "out) or `canceled`"})
    url = fields.String(allow_none=True, metadata={
        "description": "His signing page's link, to copy (the one his email carries); null once it is not live "
                       "(he acted, the request closed, the link expired). A resend replaces it"})
    expires_at = Timestamp(metadata={"description": "When his link stops working (7 days after it was sent)"})
    signed_at = Timestamp(allow_none=True)
    signed_name = fields.String(allow_none=True, metadata={"description": "The name he typed to sign"})
    declined_at = Timestamp(allow_none=True)
    decline_reason = fields.String(allow_none=True)
    reminders_sent = fields.Integer()


class SignatureRequestSchema(Schema):
    id = fields.UUID()
    account_id = fields.UUID()
    document_id = fields.UUID(metadata={"description": "The PDF to sign, kept unchanged"})
    document_name = fields.String()
    status = fields.String(validate=validate.OneOf(SIGNATURE_REQUEST_STATUSES),
                           metadata={"description": "`pending`, `signed`, `declined`, `expired` or `canceled`"})
    message = fields.String()
    reminders = fields.Boolean()
    signers = fields.List(fields.Nested(SignerSchema))
    signed_document_id = fields.UUID(allow_none=True, metadata={
        "description": "The sealed PDF written next to the original once every signer signed (null until then)"})
    original_sha256 = fields.String(metadata={"description": "The SHA-256 of the PDF as it was asked to be signed"})
    created_by = fields.UUID(allow_none=True)
    created_at = Timestamp()
    updated_at = Timestamp()
    completed_at = Timestamp(allow_none=True, metadata={"description": "When the last signer signed"})
    sealed_at = Timestamp(allow_none=True, metadata={"description": "When the sealed PDF was written"})
    canceled_at = Timestamp(allow_none=True)


SignatureRequestPageSchema = page_schema(SignatureRequestSchema, "SignatureRequestPage")


class SignatureSchema(Schema):
    """What a signer sends to sign: the name he types and his explicit consent."""

    name = fields.String(required=True, validate=validate.Length(min=1, max=200),
                         metadata={"description": "Typed by the signer: his signature"})
    agree = StrictBoolean(required=True, validate=validate.Equal(True, error="Tick the box to agree to sign."),
                          metadata={"description": "Must be true: he agrees to sign this document electronically"})

    @validates_schema
    def _a_name(self, data: dict[str, Any], **_: Any) -> None:
        if "name" in data and not data["name"].strip():
            raise ValidationError("Type your name to sign.", "name")


class DeclineSchema(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))

    @validates_schema
    def _a_reason(self, data: dict[str, Any], **_: Any) -> None:
        if "reason" in data and not data["reason"].strip():
            raise ValidationError("Say why you decline.", "reason")


class PublicSignerSchema(Schema):
    name = fields.String()
    email = fields.String()
    status = fields.String(validate=validate.OneOf(SIGNER_STATUSES))
    signed_at = Timestamp(allow_none=True)
    signed_name = fields.String(allow_none=True)


class PublicSignatureRequestSchema(Schema):
    """What the signing page shows its signer: the document, the firm's message, himself; never the
    other signers' addresses (only how many sign)."""

    message = fields.String()
    document_name = fields.String()
    document_size = fields.Integer()
    status = fields.String(validate=validate.OneOf(SIGNATURE_REQUEST_STATUSES))
    signer = fields.Nested(PublicSignerSchema)
    signers_count = fields.Integer()
    signed_count = fields.Integer()
    expires_at = Timestamp()


class PortalSignatureRequestSchema(Schema):
    """A request the client user signs (his address is one of its signers), as the portal lists it."""

    id = fields.UUID()
    document_id = fields.UUID()
    document_name = fields.String()
    status = fields.String(validate=validate.OneOf(SIGNATURE_REQUEST_STATUSES))
    message = fields.String()
    signer = fields.Nested(PublicSignerSchema, metadata={"description": "The client user's own signer row"})
    signed_document_id = fields.UUID(allow_none=True)
    created_at = Timestamp()


PortalSignatureRequestPageSchema = page_schema(PortalSignatureRequestSchema, "PortalSignatureRequestPage")


class LinkSignerSchema(PublicSignerSchema):
    signed_at = fields.String(allow_none=True, metadata={"format": "date-time"})


class LinkSignatureSchema(PublicSignatureRequestSchema):
    """`describe_signature`'s reply as the gateway passes it on (`GET /api/public/links/{token}`): its times
    are the strings documents dumped."""

    signer = fields.Nested(LinkSignerSchema)
    expires_at = fields.String(metadata={"format": "date-time"})


class VerifiedSignerSchema(Schema):
    name = fields.String(metadata={"description": "The name he typed"})
    email = fields.String()
    signed_at = Timestamp()


class VerifyResultSchema(Schema):
    sealed = fields.Boolean(metadata={"description": "Signed with this installation's seal certificate"})
    intact = fields.Boolean(metadata={"description": "The seal's signed range is unchanged and covers the whole "
                                                     "file (nothing was added after it)"})
    signature_request_id = fields.UUID(allow_none=True, metadata={"description": "Only when sealed and intact"})
    signers = fields.List(fields.Nested(VerifiedSignerSchema), allow_none=True,
                          metadata={"description": "Only when sealed and intact"})
    sealed_at = Timestamp(allow_none=True, metadata={
        "description": "The signing time inside the seal, from this installation's own clock (not a trusted "
                       "timestamp authority)"})


# -- signature events --------------------------------------------------------------------------


class SignatureRequestEventSchema(Schema):
    """A signature request as events carry it (no link, no token)."""

    id = fields.UUID(required=True)
    account_id = fields.UUID(required=True)
    document_id = fields.UUID(required=True)
    document_name = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(SIGNATURE_REQUEST_STATUSES))
    message = fields.String(required=True)
    signers_count = fields.Integer(required=True)
    signed_document_id = fields.UUID(required=True, allow_none=True)
    created_by = fields.UUID(required=True, allow_none=True)


class SignerEventSchema(Schema):
    id = fields.UUID(required=True)
    name = fields.String(required=True)
    email = fields.String(required=True)
    link_id = fields.UUID(required=True, allow_none=True,
                          metadata={"description": "His signing link (the links service's id; never its token)"})
    expires_at = Timestamp(required=True)
    signed_name = fields.String(required=True, allow_none=True)
    signed_at = Timestamp(required=True, allow_none=True)


class SignatureRequestChangedSchema(Schema):
    signature_request = fields.Nested(SignatureRequestEventSchema, required=True)


class SignerEmailDueSchema(Schema):
    """One signer is to be emailed his link to sign (`signer.link_id`, issued by documents; the
    notifications service reveals its token from the links service and emails it)."""

    signature_request = fields.Nested(SignatureRequestEventSchema, required=True)
    signer = fields.Nested(SignerEventSchema, required=True)
    reason = fields.String(required=True, validate=validate.OneOf(SIGNER_EMAIL_REASONS))
    firm_name = fields.String(required=True)


class SignerActedSchema(Schema):
    signature_request = fields.Nested(SignatureRequestEventSchema, required=True)
    signer = fields.Nested(SignerEventSchema, required=True)


class SignerDeclinedSchema(SignerActedSchema):
    reason = fields.String(required=True)


class SignatureRequestCompletedSchema(Schema):
    signature_request = fields.Nested(SignatureRequestEventSchema, required=True)
    signed_document = fields.Nested(DocumentEventSchema, required=True)
    signers = fields.List(fields.Nested(SignerEventSchema), required=True)


SIGNATURE_REQUEST_CREATED = declare("documents", "signature_request_created", SignatureRequestChangedSchema,
                                    "A staff member asked for signatures on a PDF")
SIGNER_EMAIL_DUE = declare("documents", "signer_email_due", SignerEmailDueSchema,
                           "A signer is to be emailed his link to sign (request, resend: a new link, or reminder)")
SIGNATURE_SIGNED = declare("documents", "signature_signed", SignerActedSchema,
                           "A signer signed (actor: the portal user, or none through a link)")
SIGNATURE_DECLINED = declare("documents", "signature_declined", SignerDeclinedSchema,
                             "A signer declined: the request is declined and its other links stop working")
SIGNATURE_REQUEST_SIGNED = declare("documents", "signature_request_signed", SignatureRequestChangedSchema,
                                   "Every signer signed; the sealed PDF is written next (once, whatever the "
                                   "deliveries)")
SIGNATURE_REQUEST_COMPLETED = declare("documents", "signature_request_completed", SignatureRequestCompletedSchema,
                                      "The sealed PDF was written next to the original (actor: none)")
SIGNATURE_REQUEST_CANCELED = declare("documents", "signature_request_canceled", SignatureRequestChangedSchema,
                                     "A signature request was canceled: its links stopped working")
