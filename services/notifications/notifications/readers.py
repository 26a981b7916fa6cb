"""What the handlers read from the `data` of other services' events (the envelope's firm_id and
account_id are read from the envelope itself).

Tolerant readers: fields a handler does not use are ignored, so a producer may add fields freely
(its declared schema in shared.contracts is the exact shape). An event these refuse can never be
handled: it is logged and dropped.
"""
from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields, validate


class _EventData(Schema):
    class Meta:
        unknown = EXCLUDE


class FileRequestRefSchema(_EventData):
    id = fields.UUID(required=True)
    folder_id = fields.UUID(load_default=None, allow_none=True)
    message = fields.String(load_default="", allow_none=True)
    link_id = fields.UUID(load_default=None, allow_none=True)
    created_by = fields.UUID(load_default=None, allow_none=True)


class PersonRefSchema(_EventData):
    id = fields.UUID(load_default=None, allow_none=True)
    name = fields.String(load_default="", allow_none=True)
    email = fields.String(load_default="", allow_none=True)


class DocumentRefSchema(_EventData):
    id = fields.UUID(required=True)
    name = fields.String(required=True)


class FilesReceivedEventSchema(_EventData):
    """documents.file_request_files_received"""

    file_request = fields.Nested(FileRequestRefSchema, required=True)
    uploader = fields.Nested(PersonRefSchema, load_default=None, allow_none=True)
    documents = fields.List(fields.Nested(DocumentRefSchema), load_default=list)
    received_count = fields.Integer(required=True, validate=validate.Range(min=0))


class FileRequestDoneEventSchema(_EventData):
    """documents.file_request_done"""

    file_request = fields.Nested(FileRequestRefSchema, required=True)
    uploader = fields.Nested(PersonRefSchema, load_default=None, allow_none=True)
    received_count = fields.Integer(required=True, validate=validate.Range(min=0))


class ClientDoneUploadingEventSchema(_EventData):
    """documents.client_done_uploading"""

    account_name = fields.String(required=True)
    user = fields.Nested(PersonRefSchema, required=True)


class FileRequestSentEventSchema(_EventData):
    """documents.file_request_sent; each recipient address is checked on its own when it is sent to."""

    file_request = fields.Nested(FileRequestRefSchema, required=True)
    recipients = fields.List(fields.String(), required=True)
    firm_name = fields.String(required=True)
    account_name = fields.String(load_default=None, allow_none=True)
