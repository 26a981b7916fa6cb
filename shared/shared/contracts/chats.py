"""The chats service's contract: what its RPCs accept and return, and the events it emits.

A skeleton for the chats issue: a staff member starts a thread on an account. Messages, tasks,
reminders and who may start a thread on which account come with that issue.
"""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from shared.events import declare
from shared.schemas import Timestamp

SUBJECT_MAX = 200


class StartThreadSchema(Schema):
    account_id = fields.UUID(required=True)
    subject = fields.String(required=True, validate=validate.Length(min=1, max=SUBJECT_MAX),
                            metadata={"description": "Trimmed; not blank"})


class ThreadSchema(Schema):
    id = fields.UUID()
    account_id = fields.UUID()
    subject = fields.String()
    created_by = fields.UUID(metadata={"description": "The staff member who started it"})
    created_at = Timestamp()


# -- events -------------------------------------------------------------------------------------------
# The envelope's account_id is the thread's account.


class ThreadStartedSchema(Schema):
    thread_id = fields.UUID(required=True)
    subject = fields.String(required=True)


THREAD_STARTED = declare("chats", "thread_started", ThreadStartedSchema,
                         "A staff member started a thread on an account")
