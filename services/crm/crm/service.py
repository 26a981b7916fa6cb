"""The CRM's entrypoints: validate, call the domain, commit (with events), dump."""
from __future__ import annotations

import uuid
from typing import Any

from nameko.rpc import rpc

from crm import accounts, identity
from crm.models import User, messaging
from crm.schemas import (
    AccountCreateSchema,
    AccountPageSchema,
    AccountPatchSchema,
    AccountQuerySchema,
    AccountSchema,
    LoginResultSchema,
    LoginSchema,
    MeSchema,
    PrincipalSchema,
    SignupResultSchema,
    SignupSchema,
    TeamInviteSchema,
    TeamPageSchema,
    TeamPatchSchema,
    UserSchema,
)
from shared.context import require_principal
from shared.dependencies import Database
from shared.entrypoints import write
from shared.errors import NotFound, ValidationFailed
from shared.schemas import PageQuerySchema, validated
from shared.service import PortaService


def _id(value: Any) -> uuid.UUID:
    """A path id that is not a UUID names nothing: 404, like an id of another firm."""
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise NotFound("No such resource.") from None


class CrmService(PortaService):
    name = "crm"
    db = Database(messaging)

    def _actor(self) -> User:
        return identity.current_user(self.db.session, require_principal(self.context.principal))

    # -- identity -------------------------------------------------------------------------

    @rpc
    @write(replay=False)
    def signup(self, payload: dict) -> dict:
        data = validated(SignupSchema(), payload)
        token, user, firm = identity.signup(self.db.session, **data)
        result = SignupResultSchema().dump({"token": token, "user": user, "firm": firm})
        self.db.emit("firm_created", {"firm": result["firm"], "owner": result["user"]})
        return result

    @rpc
    @write(replay=False)
    def login(self, payload: dict) -> dict:
        data = validated(LoginSchema(), payload)
        token, user = identity.login(self.db.session, data["email"], data["password"])
        return LoginResultSchema().dump({"token": token, "user": user})

    @rpc
    def authenticate(self, token: str) -> dict:
        if not isinstance(token, str) or not token:
            raise ValidationFailed("A bearer token is required.", {"token": ["Missing."]})
        session, user = identity.authenticate(self.db.session, token)
        return PrincipalSchema().dump(
            {"session_id": session.id, "user_id": user.id, "firm_id": user.firm_id, "kind": user.kind}
        )

    @rpc
    @write
    def logout(self) -> None:
        identity.logout(self.db.session, require_principal(self.context.principal))

    @rpc
    def me(self) -> dict:
        return MeSchema().dump(identity.current_user(self.db.session, require_principal(self.context.principal),
                                                     with_firm=True))

    # -- team -----------------------------------------------------------------------------

    @rpc
    @write
    def invite_team_member(self, payload: dict) -> dict:
        data = validated(TeamInviteSchema(), payload)
        member = UserSchema().dump(identity.invite_team_member(self.db.session, self._actor(), data))
        self.db.emit("team_member_invited", {"member": member})
        return member

    @rpc
    def list_team(self, query: dict) -> dict:
        page = validated(PageQuerySchema(), query)
        items, cursor = identity.list_team(self.db.session, self._actor(), page["limit"], page["cursor"])
        return TeamPageSchema().dump({"items": items, "next_cursor": cursor})

    @rpc
    @write
    def update_team_member(self, member_id: str, payload: dict) -> dict:
        data = validated(TeamPatchSchema(), payload)
        member = UserSchema().dump(identity.update_team_member(self.db.session, self._actor(), _id(member_id), data))
        self.db.emit("team_member_updated", {"member": member})
        return member

    @rpc
    @write
    def remove_team_member(self, member_id: str) -> None:
        member = UserSchema().dump(identity.remove_team_member(self.db.session, self._actor(), _id(member_id)))
        self.db.emit("team_member_removed", {"member": member})

    # -- accounts -------------------------------------------------------------------------

    @rpc
    @write
    def create_account(self, payload: dict) -> dict:
        data = validated(AccountCreateSchema(), payload)
        account = AccountSchema().dump(accounts.create_account(self.db.session, self._actor(), data))
        self.db.emit("account_created", {"account": account})
        return account

    @rpc
    def list_accounts(self, query: dict) -> dict:
        params = validated(AccountQuerySchema(), query)
        items, cursor = accounts.list_accounts(
            self.db.session, self._actor(), params["limit"], params["cursor"], params["q"]
        )
        return AccountPageSchema().dump({"items": items, "next_cursor": cursor})

    @rpc
    def get_account(self, account_id: str) -> dict:
        return AccountSchema().dump(accounts.get_account(self.db.session, self._actor(), _id(account_id)))

    @rpc
    @write
    def update_account(self, account_id: str, payload: dict) -> dict:
        data = validated(AccountPatchSchema(), payload)
        account = AccountSchema().dump(
            accounts.update_account(self.db.session, self._actor(), _id(account_id), data)
        )
        self.db.emit("account_updated", {"account": account, "changed": sorted(data)})
        return account

    @rpc
    @write
    def delete_account(self, account_id: str) -> None:
        account = AccountSchema().dump(accounts.delete_account(self.db.session, self._actor(), _id(account_id)))
        self.db.emit("account_deleted", {"account": account})
