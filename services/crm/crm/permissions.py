"""Who may do what in a firm: the one place the CRM decides it."""
from __future__ import annotations

from typing import Any

from crm.models import User
from shared.contracts.crm import RIGHTS
from shared.errors import Forbidden

MANAGERS = ("owner", "admin")


def effective_rights(user: User) -> list[str]:
    """Owner and admins may do everything; an employee has the rights he was given."""
    if user.kind != "staff":
        return []
    return list(RIGHTS) if user.role in MANAGERS else sorted(set(user.rights or []) & set(RIGHTS))


class _WithRights:
    """A user as the contract dumps him (UserSchema, MeSchema): `rights` are those in effect, not the
    stored grants; every other attribute is the user's."""

    def __init__(self, user: User) -> None:
        self._user = user
        self.rights = effective_rights(user)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._user, name)


def with_rights(user: User) -> Any:
    """Wrap a user before dumping him: the one place `rights` on the wire is computed."""
    return _WithRights(user)


def require_manager(user: User) -> None:
    if user.kind != "staff" or user.role not in MANAGERS:
        raise Forbidden("Only the firm's owner and admins may do this.")


def require_right(user: User, right: str) -> None:
    if right not in effective_rights(user):
        raise Forbidden(f"This needs the `{right}` right.")


def sees_all_accounts(user: User) -> bool:
    return "view_all_accounts" in effective_rights(user)
