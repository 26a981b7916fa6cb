"""Account authorisation, one way for every service: crm decides whether the caller may open an
account (and holds a right); the answer comes back as a `Caller`.

Services declare `crm = RpcProxy("crm")` and call `authorize(self.crm, principal, account_id, right)`.
Keeping the decision in this one function is what lets a cheaper path (issue 10: authorise once per
request) replace it everywhere at once.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from shared.context import Principal
from shared.errors import NotFound
from shared.ids import parse_id


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


def authorize(crm: Any, principal: Principal, account_id: Any, right: str | None = None) -> Caller:
    """crm's `authorize_account` for the caller: NotFound when the account is unknown or hidden from
    him, Forbidden when he lacks `right`."""
    answer = crm.authorize_account(account_id=str(parse_id(account_id, "account")), right=right)
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
