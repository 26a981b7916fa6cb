"""Who may do what in a firm: the one place the CRM decides it."""
from __future__ import annotations

from crm.models import User
from shared.errors import Forbidden

RIGHTS = ("manage_accounts", "manage_documents", "manage_billing", "view_all_accounts")
MANAGERS = ("owner", "admin")


def effective_rights(user: User) -> list[str]:
    """Owner and admins may do everything; an employee has the rights he was given."""
    if user.kind != "staff":
        return []
    return list(RIGHTS) if user.role in MANAGERS else sorted(set(user.rights or []) & set(RIGHTS))


def require_manager(user: User) -> None:
    if user.kind != "staff" or user.role not in MANAGERS:
        raise Forbidden("Only the firm's owner and admins may do this.")


def require_right(user: User, right: str) -> None:
    if right not in effective_rights(user):
        raise Forbidden(f"This needs the `{right}` right.")


def sees_all_accounts(user: User) -> bool:
    return "view_all_accounts" in effective_rights(user)
