"""The CRM's entrypoints: validate, call the domain, commit (with events), dump."""
from __future__ import annotations

import uuid
from typing import Any

from nameko.rpc import RpcProxy

from crm import access, accounts, contacts, identity, jobs, portal_settings
from crm.models import User, messaging
from crm.permissions import RIGHTS, require_right
from crm.schemas import (
    AcceptInvitationSchema,
    AccessListSchema,
    AccessPatchSchema,
    AccessSchema,
    AccountAuthorizationSchema,
    AccountCreateSchema,
    AccountListSchema,
    AccountPageSchema,
    AccountPatchSchema,
    AccountQuerySchema,
    AccountSchema,
    BulkAccessSchema,
    CategoriesSchema,
    ContactCreateSchema,
    ContactLinkSchema,
    ContactPatchSchema,
    ContactSchema,
    EmailPreferencesSchema,
    FirmPublicSchema,
    JobCreateSchema,
    JobPageSchema,
    JobPatchSchema,
    JobSchema,
    LoginResultSchema,
    LoginSchema,
    MeSchema,
    PortalAnnouncementSchema,
    PortalJobPageSchema,
    PortalSettingsPatchSchema,
    PortalSettingsSchema,
    PrincipalSchema,
    RecipientsSchema,
    SignupResultSchema,
    SignupSchema,
    TeamAssignmentSchema,
    TeamInviteSchema,
    TeamListSchema,
    TeamPageSchema,
    TeamPatchSchema,
    UserSchema,
)
from shared.context import require_principal
from shared.dependencies import Database
from shared.entrypoints import write
from shared.errors import Forbidden, NotFound, ValidationFailed
from shared.rpc import rpc
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
    links = RpcProxy("links")

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
    @write(replay=False)
    def accept_invitation(self, token: str, payload: dict, address: str) -> dict:
        """An invited staff member or client sets his password with the emailed single-use link."""
        data = validated(AcceptInvitationSchema(), payload)
        # Resolve, not redeem: the user's `invited` status makes acceptance single-use here, and
        # links revokes the link when it hears `user_activated`, so a crash between the two
        # services can never burn a link without activating its user.
        link = self.links.resolve_link(token=token, address=address, kind="invitation")
        token, user = identity.accept_invitation(self.db.session, _id(link["firm_id"]), _id(link["target"]["id"]),
                                                 data["password"])
        result = LoginResultSchema().dump({"token": token, "user": user})
        self.db.emit("user_activated", {"user": result["user"]})
        return result

    @rpc
    def describe_firm(self, firm_id: str) -> dict:
        """What a public page may say about a firm: its name."""
        return FirmPublicSchema().dump(identity.get_firm(self.db.session, _id(firm_id)))

    @rpc
    def me(self) -> dict:
        return MeSchema().dump(identity.current_user(self.db.session, require_principal(self.context.principal),
                                                     with_firm=True))

    # -- team -----------------------------------------------------------------------------

    @rpc
    @write
    def invite_team_member(self, payload: dict) -> dict:
        data = validated(TeamInviteSchema(), payload)
        actor = self._actor()
        member = UserSchema().dump(identity.invite_team_member(self.db.session, actor, data))
        firm = identity.get_firm(self.db.session, actor.firm_id)
        self.db.emit("team_member_invited", {"member": member, "firm_name": firm.name, "inviter_name": actor.name})
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

    @rpc
    def list_visible_account_ids(self) -> dict:
        """For other services filtering what a staff member may see: `{all: true}` or `{all: false, ids}`."""
        ids = accounts.visible_accounts(self.db.session, self._actor())
        return {"all": True, "ids": []} if ids is None else {"all": False, "ids": [str(i) for i in ids]}

    @rpc
    def authorize_account(self, account_id: str, right: str | None = None) -> dict:
        """For a service acting on an account for its caller: a staff member who sees the account
        (and holds `right` when the act needs one), or a client user with portal access to it.
        Anyone else: NotFound (or Forbidden for a missing right). A client also gets the portal
        switches that decide what he may do there."""
        actor = self._actor()
        if right is not None and right not in RIGHTS:
            raise ValidationFailed("Unknown right.", {"right": [f"Must be one of: {', '.join(RIGHTS)}."]})
        if actor.kind == "client":
            if right is not None:
                raise Forbidden("Client users hold no staff rights.")
            account = access.require_portal_account(self.db.session, actor, _id(account_id))
            switches = portal_settings.get_settings(self.db.session, actor)
        else:
            account = accounts.get_account(self.db.session, actor, _id(account_id))
            if right is not None:
                require_right(actor, right)
            switches = None
        return AccountAuthorizationSchema().dump({"account": account, "principal_kind": actor.kind, "user": actor,
                                                  "portal_settings": switches})

    @rpc
    @write
    def assign_account_team(self, account_id: str, payload: dict) -> dict:
        data = validated(TeamAssignmentSchema(), payload)
        members = accounts.assign_team(self.db.session, self._actor(), _id(account_id), data["user_ids"])
        result = TeamListSchema().dump({"items": members})
        self.db.emit("account_team_assigned", {"account_id": account_id,
                                               "user_ids": [m["id"] for m in result["items"]]})
        return result

    # -- client portal --------------------------------------------------------------------

    @rpc
    def list_portal_accounts(self) -> dict:
        """The accounts the calling client user may open; one login reaches all of them."""
        client = self._actor()
        if client.kind != "client":
            raise Forbidden("This is for client users.")
        return AccountListSchema().dump({"items": access.portal_accounts(self.db.session, client)})

    def _client(self) -> User:
        client = self._actor()
        if client.kind != "client":
            raise Forbidden("This is for client users.")
        return client

    @rpc
    def get_portal_announcement(self, account_id: str) -> dict:
        """The firm's announcement for a client on one of his accounts: `{enabled, text}`, text null when off."""
        return PortalAnnouncementSchema().dump(
            portal_settings.announcement(self.db.session, self._client(), _id(account_id)))

    @rpc
    def list_portal_jobs(self, account_id: str, query: dict) -> dict:
        """The account's jobs with a client status, as the client sees them; Forbidden while the firm has
        work in progress off."""
        client = self._client()
        page = validated(PageQuerySchema(), query)
        items, cursor = jobs.list_client_jobs(self.db.session, client, _id(account_id), page["limit"],
                                              page["cursor"])
        return PortalJobPageSchema().dump({"items": items, "next_cursor": cursor})

    # -- contacts -------------------------------------------------------------------------

    @rpc
    @write
    def create_contact(self, payload: dict) -> dict:
        data = validated(ContactCreateSchema(), payload)
        contact = ContactSchema().dump(contacts.create_contact(self.db.session, self._actor(), data))
        self.db.emit("contact_created", {"contact": contact})
        return contact

    @rpc
    def get_contact(self, contact_id: str) -> dict:
        return ContactSchema().dump(contacts.get_contact(self.db.session, self._actor(), _id(contact_id)))

    @rpc
    @write
    def update_contact(self, contact_id: str, payload: dict) -> dict:
        data = validated(ContactPatchSchema(), payload)
        actor, changes = self._actor(), access.Changes()
        contact, replaced = contacts.update_contact(self.db.session, actor, _id(contact_id), data)
        access.follow_email_change(self.db.session, actor, contact, replaced, changes)
        result = ContactSchema().dump(contact)
        self.db.emit("contact_updated", {"contact": result, "replaced_emails": replaced})
        self._emit(changes)
        return result

    @rpc
    @write
    def link_contact(self, account_id: str, payload: dict) -> dict:
        data = validated(ContactLinkSchema(), payload)
        contact = contacts.link_contact(self.db.session, self._actor(), _id(account_id), data["contact_id"])
        self.db.emit("contact_linked", {"account_id": account_id, "contact_id": str(contact.id)})
        return ContactSchema().dump(contact)

    @rpc
    @write
    def unlink_contact(self, account_id: str, contact_id: str) -> None:
        contacts.unlink_contact(self.db.session, self._actor(), _id(account_id), _id(contact_id))
        self.db.emit("contact_unlinked", {"account_id": account_id, "contact_id": contact_id})

    # -- portal access --------------------------------------------------------------------

    def _emit(self, changes: access.Changes) -> None:
        for event_type, data in changes.events:
            self.db.emit(event_type, data)

    @rpc
    def list_access(self, account_id: str) -> dict:
        rows = access.list_access(self.db.session, self._actor(), _id(account_id))
        return AccessListSchema().dump({"items": rows})

    @rpc
    @write
    def update_access(self, account_id: str, email: str, payload: dict) -> dict:
        data = validated(AccessPatchSchema(), payload)
        changes = access.Changes()
        row = access.update_access(self.db.session, self._actor(), _id(account_id), email, data, changes)
        self._emit(changes)
        return AccessSchema().dump(row)

    @rpc
    @write
    def bulk_update_access(self, payload: dict) -> dict:
        data = validated(BulkAccessSchema(), payload)
        changes = access.Changes()
        rows = access.bulk_update_access(self.db.session, self._actor(), data["items"], changes)
        self._emit(changes)
        return AccessListSchema().dump({"items": rows})

    @rpc
    @write
    def reinvite(self, account_id: str, email: str) -> dict:
        changes = access.Changes()
        row = access.reinvite(self.db.session, self._actor(), _id(account_id), email, changes)
        self._emit(changes)
        return AccessSchema().dump(row)

    @rpc
    def get_notification_categories(self, account_id: str, email: str) -> dict:
        return {"categories": access.get_categories(self.db.session, self._actor(), _id(account_id), email)}

    @rpc
    @write
    def set_notification_categories(self, account_id: str, email: str, payload: dict) -> dict:
        data = validated(CategoriesSchema(), payload)
        categories = access.set_categories(self.db.session, self._actor(), _id(account_id), email,
                                           data["categories"])
        self.db.emit("notification_categories_changed", {"account_id": account_id, "email": email.lower(),
                                                         "categories": categories})
        return {"categories": categories}

    # -- jobs -----------------------------------------------------------------------------

    @rpc
    @write
    def create_job(self, account_id: str, payload: dict) -> dict:
        data = validated(JobCreateSchema(), payload)
        job = JobSchema().dump(jobs.create_job(self.db.session, self._actor(), _id(account_id), data))
        self.db.emit("job_created", {"job": job})
        return job

    @rpc
    def list_jobs(self, account_id: str, query: dict) -> dict:
        page = validated(PageQuerySchema(), query)
        items, cursor = jobs.list_jobs(self.db.session, self._actor(), _id(account_id), page["limit"],
                                       page["cursor"])
        return JobPageSchema().dump({"items": items, "next_cursor": cursor})

    @rpc
    @write
    def update_job(self, job_id: str, payload: dict) -> dict:
        data = validated(JobPatchSchema(), payload)
        job = JobSchema().dump(jobs.update_job(self.db.session, self._actor(), _id(job_id), data))
        self.db.emit("job_updated", {"job": job, "changed": sorted(data)})
        return job

    # -- portal settings ------------------------------------------------------------------

    @rpc
    def get_portal_settings(self) -> dict:
        return PortalSettingsSchema().dump(portal_settings.get_settings(self.db.session, self._actor()))

    @rpc
    @write
    def update_portal_settings(self, payload: dict) -> dict:
        data = validated(PortalSettingsPatchSchema(), payload)
        actor = self._actor()
        settings, changes = portal_settings.update_settings(self.db.session, actor, data)
        if changes:
            # The activity feed records who changed what, from which value to which.
            self.db.emit("portal_settings_changed", {"firm_id": str(actor.firm_id), "changes": changes})
        return PortalSettingsSchema().dump(settings)

    # -- for services acting without a user (event handlers) ----------------------------------------
    # They name the firm they act for. A principal that came along (the user whose request caused
    # the event, passed on in the context) must be of that firm; without one the firm is trusted,
    # as only services reach these methods (the gateway routes no path to them).

    def _for_firm(self, firm_id: Any) -> uuid.UUID:
        try:
            firm = uuid.UUID(str(firm_id))
        except ValueError:
            raise ValidationFailed("firm_id is not a UUID.", {"firm_id": ["Not a valid UUID."]}) from None
        principal = self.context.principal
        if principal is not None and principal.firm_id != str(firm):
            raise Forbidden("A service acted for another firm than its caller's.")
        return firm

    @rpc
    def list_account_recipients(self, firm_id: str, account_id: str, also: list[str] | None = None) -> dict:
        """The staff to notify about something on an account: `also` (e.g. a file request's creator) if
        still on the team, plus the account's assigned team; the owner and admins when that is nobody.
        -> `{"user_ids": [...]}`."""
        firm = self._for_firm(firm_id)
        people = accounts.notification_recipients(self.db.session, firm, _id(account_id),
                                                  [_id(user_id) for user_id in also or []])
        return RecipientsSchema().dump({"user_ids": [person.id for person in people]})

    @rpc
    def client_email_preferences(self, firm_id: str, account_id: str, email: str) -> dict:
        """What an email to `email` about this account must respect: `{known, notify, categories, status,
        user_id, first_name}`; `known` false for an address that is no access row of the account."""
        firm = self._for_firm(firm_id)
        if not isinstance(email, str):
            raise ValidationFailed("email must be a string.", {"email": ["Not a valid email."]})
        return EmailPreferencesSchema().dump(
            access.email_preferences(self.db.session, firm, _id(account_id), email))
