"""The documents service's payloads: what its RPCs accept (validated here) and return (dumped here).

The gateway documents its HTTP API from these same schemas.
"""
from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from documents.models import CLIENT_ACCESS
from shared.schemas import PageQuerySchema, Timestamp, page_schema

NAME = validate.Length(min=1, max=255)


class FolderCreateSchema(Schema):
    name = fields.String(required=True, validate=NAME)
    parent_id = fields.UUID(load_default=None, metadata={"description": "Default: the account's private root"})
    client_access = fields.String(required=True, validate=validate.OneOf(CLIENT_ACCESS),
                                  metadata={"description": "`none` (private), `view` or `view_edit`"})


class FolderSchema(Schema):
    id = fields.UUID()
    account_id = fields.UUID()
    parent_id = fields.UUID(allow_none=True)
    name = fields.String()
    root = fields.String(allow_none=True, metadata={"description": "`private` or `client` for the two roots"})
    client_access = fields.String()
    created_at = Timestamp()


class FolderListSchema(Schema):
    """Every folder of the account at once (a tree of a few dozen): `next_cursor` is always null."""

    items = fields.List(fields.Nested(FolderSchema))
    next_cursor = fields.String(allow_none=True)


class UploaderSchema(Schema):
    """Who uploaded: a staff member, a client user, or a person with a link (what he typed)."""

    kind = fields.String(metadata={"description": "`staff`, `client` or `link`"})
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
    source = fields.String(metadata={"description": "`staff`, `portal`, `link`, `chat` or `email`"})
    uploaded_by = fields.Method("_uploaded_by", metadata={"description": "UploaderSchema"})
    file_request_id = fields.UUID(allow_none=True)
    archive_id = fields.UUID(allow_none=True, metadata={"description": "The .zip this file was unpacked from"})
    scan_status = fields.String(metadata={"description": "`not_scanned`, `pending`, `clean`, `infected` or `too_large` "
                                                         "(too large to scan); only not_scanned and clean files can "
                                                         "be downloaded"})
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


class UploadTicketSchema(Schema):
    """Where the gateway writes the bytes, and how many it may write."""

    upload_id = fields.UUID()
    object_key = fields.String()
    max_bytes = fields.Integer()


class UploadedSchema(Schema):
    """What the gateway learned while streaming."""

    size = fields.Integer(required=True, validate=validate.Range(min=0))
    sha256 = fields.String(required=True, validate=validate.Regexp(r"^[0-9a-f]{64}$"))


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
    send_email = fields.Boolean(load_default=False)
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
    status = fields.String()
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
