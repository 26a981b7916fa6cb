"""Who is calling and on behalf of which request: carried as nameko context data.

The gateway puts these keys into every RPC's headers (`nameko.<key>`); nameko copies
context data into every nested RPC and our outbox copies it into every event, so one
request id follows a request through every service and into the JSON logs.
"""
from __future__ import annotations

import contextvars
from dataclasses import dataclass

from shared.errors import Forbidden, Unauthorized

REQUEST_ID = "request_id"
FIRM_ID = "firm_id"
USER_ID = "user_id"
USER_KIND = "user_kind"
SESSION_ID = "session_id"
# The firm's access version crm's `authenticate` read for this request (shared.access keys its cached
# authorisations on it). An int, never text: the outbox copies only text context data into events, so a
# handler running later, after a removal maybe, asks crm instead of trusting what this request knew.
ACCESS_VERSION = "access_version"
# Per-call key for idempotent writes; not propagated to nested calls (see CallContext).
CALL_KEY = "call_key"

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("porta_request_id", default=None)


@dataclass(frozen=True)
class Principal:
    """The authenticated caller, as the gateway established it."""

    firm_id: str
    user_id: str
    kind: str  # "staff" or "client"
    session_id: str | None = None
    access_version: int | None = None  # None: not from a request the gateway authenticated (no caching)

    def require_staff(self) -> Principal:
        """The firm's own people only; a client user gets a 403."""
        if self.kind != "staff":
            raise Forbidden("This is for the firm's staff.")
        return self

    def require_client(self) -> Principal:
        """Client users only (the portal's paths); staff get a 403."""
        if self.kind != "client":
            raise Forbidden("This is for client users.")
        return self

    def as_actor(self) -> dict[str, str]:
        """Who caused an event, as the event envelope says it."""
        return {"id": self.user_id, "kind": self.kind}


def principal_from(data: dict) -> Principal | None:
    if data.get(FIRM_ID) and data.get(USER_ID):
        version = data.get(ACCESS_VERSION)
        if not isinstance(version, int) or isinstance(version, bool):
            version = None
        return Principal(data[FIRM_ID], data[USER_ID], data.get(USER_KIND) or "staff", data.get(SESSION_ID), version)
    return None


def require_principal(principal: Principal | None) -> Principal:
    """Tenant-owned work fails closed when no principal came with the call."""
    if principal is None:
        raise Unauthorized("This call needs an authenticated caller.")
    return principal
