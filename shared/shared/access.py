"""Account authorisation, one way for every service: crm decides whether the caller may open an
account (and holds a right); the answer comes back as a `Caller`.

Services declare `crm = RpcProxy("crm")` and call `authorize(self.crm, principal, account_id, right)`.

Authorised once per request (docs/access.md): crm keeps an access version per firm
(`firms.access_version`), which its database moves with every commit that changes who may open
what (users, their roles and rights, team assignments, accounts, portal access rows, portal
settings...). The gateway's one `crm.authenticate` per request answers the version with the
principal and sends it along as context data (`shared.context.ACCESS_VERSION`). Each service
process keeps crm's positive answers in a small LRU keyed by (session, version, account, right):
the same question under the same version is answered without asking crm again; a removal moves the
version, so the very next request carries a newer one, misses, and crm refuses it. Refusals are
never kept. Without a version (a call no gateway request began, an event handler, a timer) crm
is asked every time, as before.
"""
from __future__ import annotations

import copy
import threading
import uuid
from dataclasses import dataclass
from typing import Any

from cachetools import LRUCache

from shared.context import Principal
from shared.errors import NotFound
from shared.ids import parse_id

# Answers kept per process: a few thousand (session, account) pairs in use at once; an entry is ~1 KB.
CACHE_SIZE = 4096

CacheKey = tuple[str, str, str, int, str, str | None]


@dataclass(frozen=True)
class Caller:
    """A logged-in caller, authorised by crm for one account."""

    firm_id: uuid.UUID
    user_id: uuid.UUID
    client: bool
    account: dict
    user: dict
    portal_settings: dict | None

    @property
    def account_id(self) -> uuid.UUID:
        return uuid.UUID(self.account["id"])


# crm's positive answers; cachetools' LRU is not thread-safe and the gateway runs threads: one lock.
answers: LRUCache[CacheKey, dict] = LRUCache(maxsize=CACHE_SIZE)
_answers_lock = threading.Lock()


def cache_key(principal: Principal, account_id: uuid.UUID, right: str | None) -> CacheKey | None:
    """Where an answer for this question may be kept: None when the call carries no session or no access
    version (nothing established by a request the gateway authenticated), so crm must be asked."""
    if principal.session_id is None or principal.access_version is None:
        return None
    return (principal.firm_id, principal.user_id, principal.session_id, principal.access_version,
            str(account_id), right)


def authorize(crm: Any, principal: Principal, account_id: Any, right: str | None = None) -> Caller:
    """crm's `authorize_account` for the caller: NotFound when the account is unknown or hidden from
    him, Forbidden when he lacks `right`. Answered from this process's cache when this request's
    access version already had it (see the module's docstring)."""
    account = parse_id(account_id, "account")
    key = cache_key(principal, account, right)
    if key is None:
        answer = crm.authorize_account(account_id=str(account), right=right)
    else:
        with _answers_lock:
            kept = answers.get(key)
        if kept is None:
            kept = crm.authorize_account(account_id=str(account), right=right)
            with _answers_lock:
                answers[key] = kept
        answer = copy.deepcopy(kept)  # each caller gets its own dicts: nobody edits what the cache holds
    return Caller(firm_id=uuid.UUID(principal.firm_id), user_id=uuid.UUID(principal.user_id),
                  client=answer["principal_kind"] == "client", account=answer["account"], user=answer["user"],
                  portal_settings=answer.get("portal_settings"))


def authorize_as(unknown: str, crm: Any, principal: Principal, account_id: Any, right: str | None = None) -> Caller:
    """`authorize` for something found by its own id: when its account is hidden from the caller, the
    answer is the `unknown` one an unknown id gets, so it tells him nothing of what exists."""
    try:
        return authorize(crm, principal, account_id, right)
    except NotFound:
        raise NotFound(unknown) from None
