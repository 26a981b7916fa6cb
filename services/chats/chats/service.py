"""The chats service's entrypoints: validate (the contract), call the domain, emit, dump."""
from __future__ import annotations

import uuid

from chats import threads
from chats.models import messaging
from shared.context import require_principal
from shared.contracts.chats import THREAD_STARTED, StartThreadSchema, ThreadSchema
from shared.dependencies import Database
from shared.entrypoints import write
from shared.ids import parse_id
from shared.rpc import rpc
from shared.schemas import validated
from shared.service import PortaService


class ChatsService(PortaService):
    name = "chats"
    db = Database(messaging)

    @rpc
    @write
    def start_thread(self, payload: dict) -> dict:
        staff = require_principal(self.context.principal).require_staff()
        data = validated(StartThreadSchema(), payload)
        thread = threads.start(self.db.session, uuid.UUID(staff.firm_id), data["account_id"], data["subject"],
                               uuid.UUID(staff.user_id))
        self.db.emit(THREAD_STARTED, {"thread_id": str(thread.id), "subject": thread.subject},
                     firm_id=thread.firm_id, account_id=thread.account_id)
        return ThreadSchema().dump(thread)

    @rpc
    def get_thread(self, thread_id: str) -> dict:
        staff = require_principal(self.context.principal).require_staff()
        thread = threads.get(self.db.session, uuid.UUID(staff.firm_id), parse_id(thread_id, "thread"))
        return ThreadSchema().dump(thread)
