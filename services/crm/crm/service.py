"""The CRM's entrypoints: validate with the contract, call the domain, emit declared events, dump."""
from __future__ import annotations

import functools
from datetime import datetime, timedelta

from nameko.rpc import RpcProxy
from nameko.timer import timer

from crm import access, accounts, chat_audience, contacts, identity, jobs, login_throttle, portal_settings
from crm.models import User, messaging
from crm.permissions import with_rights
from shared.context import Principal, require_principal
from shared.contracts.crm import (
    ACCOUNT_CREATED,
    ACCOUNT_DELETED,
    ACCOUNT_TEAM_ASSIGNED,
    ACCOUNT_UPDATED,
    CONTACT_CREATED,
    CONTACT_LINKED,
    CONTACT_UNLINKED,
    CONTACT_UPDATED,
    FIRM_CREATED,
    JOB_CREATED,
    JOB_UPDATED,
    NOTIFICATION_CATEGORIES_CHANGED,
    PORTAL_SETTINGS_CHANGED,
    TEAM_MEMBER_INVITED,
    TEAM_MEMBER_REMOVED,
    TEAM_MEMBER_UPDATED,
    USER_ACTIVATED,
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
    ChatAudienceSchema,
    ContactCreateSchema,
    ContactLinkSchema,
    ContactPatchSchema,
    ContactSchema,
    EmailPreferencesSchema,
    FirmPublicSchema,
    InvitationPublicSchema,
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
from shared.dependencies import Database
from shared.entrypoints import idempotent, read, write
from shared.errors import ValidationFailed
from shared.events import EventLog
from shared.ids import parse_id
from shared.rpc import rpc
from shared.schemas import PageQuerySchema, schema, validated
from shared.service import PortaService

# Seconds between two purges of forgotten login failures and addresses, in each instance.
PURGE_INTERVAL = 3600.0


class CrmService(PortaService):
    name = "crm"
    db = Database(messaging)
    links = RpcProxy("links")

    def _principal(self) -> Principal:
        return require_principal(self.context.principal)

    def _actor(self) -> User:
        return identity.current_user(self.db.session, self._principal())

    def _client(self) -> User:
        """The calling client user; staff get a 403 (the portal's paths)."""
        return identity.current_user(self.db.session, self._principal().require_client())

    def _login_policy(self) -> login_throttle.Policy:
        settings = self.settings
        return login_throttle.Policy(
            free_failures=settings.login_free_failures, base_delay=settings.login_base_delay_seconds,
            max_delay=settings.login_max_delay_seconds,
            window=timedelta(seconds=settings.login_failure_window_seconds))

    def _session_policy(self) -> identity.SessionPolicy:
        return identity.SessionPolicy(idle=timedelta(seconds=self.settings.session_idle_seconds),
                                      max_age=timedelta(seconds=self.settings.session_max_age_seconds))

    def _invitation(self, token: str, address: str) -> tuple[dict, datetime]:
        """The live invitation link of `token` (from links, throttled per address) and when it was issued."""
        link = self.links.resolve_link(token=token, address=address, kind="invitation")
        return link, datetime.fromisoformat(link["created_at"])

    # -- identity -------------------------------------------------------------------------

    @rpc
    @write(replay=False)
    def signup(self, payload: dict, address: str | None = None) -> dict:
        """A new firm and its owner; `address`, the caller's, becomes the owner's own (login throttling)."""
        data = validated(schema(SignupSchema), payload)
        token, user, firm = identity.signup(self.db.session, **data, address=address)
        result = schema(SignupResultSchema).dump({"token": token, "user": with_rights(user), "firm": firm})
        self.db.emit(FIRM_CREATED, {"firm": result["firm"], "owner": result["user"]}, firm_id=firm.id,
                     actor={"id": user.id, "kind": user.kind})
        return result

    @rpc
    @write(replay=False)
    def login(self, payload: dict, address: str) -> dict:
        """`{token, user}`, or `{firms}` when the password opens several firms and none was named; wrong
        passwords are throttled per `address` (the caller's) and per account (crm.login_throttle)."""
        data = validated(schema(LoginSchema), payload)
        # A wrong password fails the call, yet must count: counted again after the rollback.
        self.db.on_failure(login_throttle.record_again)
        outcome = identity.login(self.db.session, data["email"], data["password"], address, data["firm_id"],
                                 policy=self._login_policy())
        if outcome.token is None:
            return schema(LoginResultSchema).dump({"firms": outcome.firms})
        return schema(LoginResultSchema).dump({"token": outcome.token, "user": with_rights(outcome.user)})

    @rpc
    @read  # every authenticated request: a write transaction only for the once-a-minute touch
    def authenticate(self, token: str) -> dict:
        if not isinstance(token, str) or not token:
            raise ValidationFailed("A bearer token is required.", {"token": ["Missing."]})
        bearer = identity.authenticate(self.db.connection, token, policy=self._session_policy())
        if identity.touch_due(bearer.session):
            self.db.on_success(functools.partial(identity.touch, session=bearer.session))
        return schema(PrincipalSchema).dump({"session_id": bearer.session.id, "user_id": bearer.user.id,
                                       "firm_id": bearer.user.firm_id, "kind": bearer.user.kind,
                                       "access_version": bearer.access_version})

    @rpc
    @write
    def logout(self) -> None:
        identity.logout(self.db.session, self._principal())

    @rpc
    @write(replay=False)
    def accept_invitation(self, token: str, payload: dict, address: str) -> dict:
        """An invited staff member or client sets his password with the emailed single-use link."""
        data = validated(schema(AcceptInvitationSchema), payload)
        # Resolve, not redeem: the user's `invited` status makes acceptance single-use here, and
        # links revokes the link when it hears `user_activated`, so a crash between the two
        # services can never burn a link without activating its user. Whether the link is still the
        # user's current one (not voided by a reinvite, a new address, LOGIN off...) crm decides here.
        link, issued_at = self._invitation(token, address)
        token, user = identity.accept_invitation(self.db.session, parse_id(link["firm_id"], "firm"),
                                                 parse_id(link["target"]["id"], "user"), data["password"],
                                                 issued_at, address)
        result = schema(LoginResultSchema).dump({"token": token, "user": with_rights(user)})
        self.db.emit(USER_ACTIVATED, {"user": result["user"]}, firm_id=user.firm_id,
                     actor={"id": user.id, "kind": user.kind})
        return result

    @rpc
    def describe_invitation(self, token: str, address: str) -> dict:
        """What an invitation's page shows (`{firm_name}`) while its link may still be accepted; Gone after a
        revocation, at once, whatever the links service has heard of it yet."""
        link, issued_at = self._invitation(token, address)
        firm = identity.describe_invitation(self.db.session, parse_id(link["firm_id"], "firm"),
                                            parse_id(link["target"]["id"], "user"), issued_at)
        return schema(InvitationPublicSchema).dump({"firm_name": firm.name})

    @timer(interval=PURGE_INTERVAL)
    @idempotent
    def purge_login_throttle(self) -> None:
        login_throttle.purge(self.db.session, identity.utcnow(), self._login_policy())

    @rpc
    def describe_firm(self, firm_id: str) -> dict:
        """What a public page may say about a firm: its name."""
        name = identity.firm_name(self.db.connection, parse_id(firm_id, "firm"))
        return schema(FirmPublicSchema).dump({"name": name})

    @rpc
    def me(self) -> dict:
        return schema(MeSchema).dump(with_rights(identity.current_user(self.db.session, self._principal(),
                                                                 with_firm=True)))

    # -- team -----------------------------------------------------------------------------

    @rpc
    @write
    def invite_team_member(self, payload: dict) -> dict:
        data = validated(schema(TeamInviteSchema), payload)
        actor = self._actor()
        member = schema(UserSchema).dump(with_rights(identity.invite_team_member(self.db.session, actor, data)))
        firm = identity.get_firm(self.db.session, actor.firm_id)
        self.db.emit(TEAM_MEMBER_INVITED, {"member": member, "firm_name": firm.name, "inviter_name": actor.name},
                     firm_id=actor.firm_id)
        return member

    @rpc
    def list_team(self, query: dict) -> dict:
        page = validated(schema(PageQuerySchema), query)
        items, cursor = identity.list_team(self.db.session, self._actor(), page["limit"], page["cursor"])
        return schema(TeamPageSchema).dump({"items": [with_rights(user) for user in items], "next_cursor": cursor})

    @rpc
    @write
    def update_team_member(self, member_id: str, payload: dict) -> dict:
        data = validated(schema(TeamPatchSchema), payload)
        actor = self._actor()
        updated = identity.update_team_member(self.db.session, actor, parse_id(member_id, "team member"), data)
        member = schema(UserSchema).dump(with_rights(updated))
        self.db.emit(TEAM_MEMBER_UPDATED, {"member": member}, firm_id=actor.firm_id)
        return member

    @rpc
    @write
    def remove_team_member(self, member_id: str) -> None:
        actor = self._actor()
        removed = identity.remove_team_member(self.db.session, actor, parse_id(member_id, "team member"))
        member = schema(UserSchema).dump(with_rights(removed))
        self.db.emit(TEAM_MEMBER_REMOVED, {"member": member}, firm_id=actor.firm_id)

    # -- accounts -------------------------------------------------------------------------

    @rpc
    @write
    def create_account(self, payload: dict) -> dict:
        data = validated(schema(AccountCreateSchema), payload)
        actor = self._actor()
        created = accounts.create_account(self.db.session, actor, data)
        account = schema(AccountSchema).dump(created)
        self.db.emit(ACCOUNT_CREATED, {"account": account}, firm_id=actor.firm_id, account_id=created.id)
        return account

    @rpc
    def list_accounts(self, query: dict) -> dict:
        params = validated(schema(AccountQuerySchema), query)
        items, cursor = accounts.list_accounts(
            self.db.session, self._actor(), params["limit"], params["cursor"], params["q"]
        )
        return schema(AccountPageSchema).dump({"items": items, "next_cursor": cursor})

    @rpc
    def get_account(self, account_id: str) -> dict:
        return schema(AccountSchema).dump(accounts.get_account(self.db.session, self._actor(),
                                                         parse_id(account_id, "account")))

    @rpc
    @write
    def update_account(self, account_id: str, payload: dict) -> dict:
        data = validated(schema(AccountPatchSchema), payload)
        actor, account_uuid = self._actor(), parse_id(account_id, "account")
        account = schema(AccountSchema).dump(accounts.update_account(self.db.session, actor, account_uuid, data))
        self.db.emit(ACCOUNT_UPDATED, {"account": account, "changed": sorted(data)}, firm_id=actor.firm_id,
                     account_id=account_uuid)
        return account

    @rpc
    @write
    def delete_account(self, account_id: str) -> None:
        actor, account_uuid = self._actor(), parse_id(account_id, "account")
        account = schema(AccountSchema).dump(accounts.delete_account(self.db.session, actor, account_uuid))
        self.db.emit(ACCOUNT_DELETED, {"account": account}, firm_id=actor.firm_id, account_id=account_uuid)

    @rpc
    def list_visible_account_ids(self) -> dict:
        """For other services filtering what a staff member may see: `{all: true}` or `{all: false, ids}`."""
        ids = accounts.visible_accounts(self.db.session, self._actor())
        return {"all": True, "ids": []} if ids is None else {"all": False, "ids": [str(i) for i in ids]}

    @rpc
    def authorize_account(self, account_id: str, right: str | None = None) -> dict:
        """For a service acting on an account for its caller (crm.access.authorize_account decides)."""
        db = self.db.connection
        return schema(AccountAuthorizationSchema).dump(access.authorize_account(
            db, identity.caller(db, self._principal()), parse_id(account_id, "account"), right))

    @rpc
    @write
    def assign_account_team(self, account_id: str, payload: dict) -> dict:
        data = validated(schema(TeamAssignmentSchema), payload)
        actor, account_uuid = self._actor(), parse_id(account_id, "account")
        members = accounts.assign_team(self.db.session, actor, account_uuid, data["user_ids"])
        result = schema(TeamListSchema).dump({"items": [with_rights(member) for member in members]})
        self.db.emit(ACCOUNT_TEAM_ASSIGNED, {"account_id": str(account_uuid),
                                             "user_ids": [m["id"] for m in result["items"]]},
                     firm_id=actor.firm_id, account_id=account_uuid)
        return result

    # -- client portal --------------------------------------------------------------------

    @rpc
    def list_portal_accounts(self) -> dict:
        """The accounts the calling client user may open; one login reaches all of them."""
        return schema(AccountListSchema).dump({"items": access.portal_accounts(self.db.session, self._client())})

    @rpc
    def get_portal_announcement(self, account_id: str) -> dict:
        """The firm's announcement for a client on one of his accounts: `{enabled, text}`, text null when off."""
        return schema(PortalAnnouncementSchema).dump(
            portal_settings.announcement(self.db.session, self._client(), parse_id(account_id, "account")))

    @rpc
    def list_portal_jobs(self, account_id: str, query: dict) -> dict:
        """The account's jobs with a client status, as the client sees them; Forbidden while the firm has
        work in progress off."""
        client = self._client()
        page = validated(schema(PageQuerySchema), query)
        items, cursor = jobs.list_client_jobs(self.db.session, client, parse_id(account_id, "account"),
                                              page["limit"], page["cursor"])
        return schema(PortalJobPageSchema).dump({"items": items, "next_cursor": cursor})

    # -- contacts -------------------------------------------------------------------------

    @rpc
    @write
    def create_contact(self, payload: dict) -> dict:
        data = validated(schema(ContactCreateSchema), payload)
        actor = self._actor()
        contact = schema(ContactSchema).dump(contacts.create_contact(self.db.session, actor, data))
        self.db.emit(CONTACT_CREATED, {"contact": contact}, firm_id=actor.firm_id)
        return contact

    @rpc
    def get_contact(self, contact_id: str) -> dict:
        return schema(ContactSchema).dump(contacts.get_contact(self.db.session, self._actor(),
                                                         parse_id(contact_id, "contact")))

    @rpc
    @write
    def update_contact(self, contact_id: str, payload: dict) -> dict:
        data = validated(schema(ContactPatchSchema), payload)
        actor, log = self._actor(), EventLog()
        contact, replaced = contacts.update_contact(self.db.session, actor, parse_id(contact_id, "contact"), data)
        access.follow_email_change(self.db.session, actor, contact, replaced, log)
        result = schema(ContactSchema).dump(contact)
        self.db.emit(CONTACT_UPDATED, {"contact": result, "replaced_emails": replaced}, firm_id=actor.firm_id)
        self.db.emit_all(log)
        return result

    @rpc
    @write
    def link_contact(self, account_id: str, payload: dict) -> dict:
        data = validated(schema(ContactLinkSchema), payload)
        actor, account_uuid = self._actor(), parse_id(account_id, "account")
        contact = contacts.link_contact(self.db.session, actor, account_uuid, data["contact_id"])
        self.db.emit(CONTACT_LINKED, {"account_id": str(account_uuid), "contact_id": str(contact.id)},
                     firm_id=actor.firm_id, account_id=account_uuid)
        return schema(ContactSchema).dump(contact)

    @rpc
    @write
    def unlink_contact(self, account_id: str, contact_id: str) -> None:
        actor, account_uuid = self._actor(), parse_id(account_id, "account")
        contact = contacts.unlink_contact(self.db.session, actor, account_uuid, parse_id(contact_id, "contact"))
        self.db.emit(CONTACT_UNLINKED, {"account_id": str(account_uuid), "contact_id": str(contact.id)},
                     firm_id=actor.firm_id, account_id=account_uuid)

    # -- portal access --------------------------------------------------------------------

    @rpc
    def list_access(self, account_id: str) -> dict:
        rows = access.list_access(self.db.session, self._actor(), parse_id(account_id, "account"))
        return schema(AccessListSchema).dump({"items": rows})

    @rpc
    @write
    def update_access(self, account_id: str, email: str, payload: dict) -> dict:
        data = validated(schema(AccessPatchSchema), payload)
        log = EventLog()
        row = access.update_access(self.db.session, self._actor(), parse_id(account_id, "account"), email, data,
                                   log)
        self.db.emit_all(log)
        return schema(AccessSchema).dump(row)

    @rpc
    @write
    def bulk_update_access(self, payload: dict) -> dict:
        data = validated(schema(BulkAccessSchema), payload)
        log = EventLog()
        rows = access.bulk_update_access(self.db.session, self._actor(), data["items"], log)
        self.db.emit_all(log)
        return schema(AccessListSchema).dump({"items": rows})

    @rpc
    @write
    def reinvite(self, account_id: str, email: str) -> dict:
        log = EventLog()
        row = access.reinvite(self.db.session, self._actor(), parse_id(account_id, "account"), email, log)
        self.db.emit_all(log)
        return schema(AccessSchema).dump(row)

    @rpc
    def get_notification_categories(self, account_id: str, email: str) -> dict:
        return {"categories": access.get_categories(self.db.session, self._actor(),
                                                    parse_id(account_id, "account"), email)}

    @rpc
    @write
    def set_notification_categories(self, account_id: str, email: str, payload: dict) -> dict:
        data = validated(schema(CategoriesSchema), payload)
        actor, account_uuid = self._actor(), parse_id(account_id, "account")
        categories = access.set_categories(self.db.session, actor, account_uuid, email, data["categories"])
        self.db.emit(NOTIFICATION_CATEGORIES_CHANGED, {"account_id": str(account_uuid), "email": email.lower(),
                                                       "categories": categories},
                     firm_id=actor.firm_id, account_id=account_uuid)
        return {"categories": categories}

    # -- jobs -----------------------------------------------------------------------------

    @rpc
    @write
    def create_job(self, account_id: str, payload: dict) -> dict:
        data = validated(schema(JobCreateSchema), payload)
        actor = self._actor()
        created = jobs.create_job(self.db.session, actor, parse_id(account_id, "account"), data)
        job = schema(JobSchema).dump(created)
        self.db.emit(JOB_CREATED, {"job": job}, firm_id=actor.firm_id, account_id=created.account_id)
        return job

    @rpc
    def list_jobs(self, account_id: str, query: dict) -> dict:
        page = validated(schema(PageQuerySchema), query)
        items, cursor = jobs.list_jobs(self.db.session, self._actor(), parse_id(account_id, "account"),
                                       page["limit"], page["cursor"])
        return schema(JobPageSchema).dump({"items": items, "next_cursor": cursor})

    @rpc
    @write
    def update_job(self, job_id: str, payload: dict) -> dict:
        data = validated(schema(JobPatchSchema), payload)
        actor = self._actor()
        updated = jobs.update_job(self.db.session, actor, parse_id(job_id, "job"), data)
        job = schema(JobSchema).dump(updated)
        self.db.emit(JOB_UPDATED, {"job": job, "changed": sorted(data)}, firm_id=actor.firm_id,
                     account_id=updated.account_id)
        return job

    # -- portal settings ------------------------------------------------------------------

    @rpc
    def get_portal_settings(self) -> dict:
        return schema(PortalSettingsSchema).dump(portal_settings.get_settings(self.db.session, self._actor()))

    @rpc
    @write
    def update_portal_settings(self, payload: dict) -> dict:
        data = validated(schema(PortalSettingsPatchSchema), payload)
        actor = self._actor()
        settings, changes = portal_settings.update_settings(self.db.session, actor, data)
        if changes:
            # The activity feed records who changed what, from which value to which.
            self.db.emit(PORTAL_SETTINGS_CHANGED, {"changes": changes}, firm_id=actor.firm_id)
        return schema(PortalSettingsSchema).dump(settings)

    # -- for services acting without a user (event handlers) ----------------------------------------
    # They name the firm they act for (self.context.for_firm: a principal that came along must be of it).

    @rpc
    def list_account_recipients(self, firm_id: str, account_id: str, also: list[str] | None = None) -> dict:
        """The staff to notify about something on an account: `also` (e.g. a file request's creator) if
        still on the team, plus the account's assigned team; the owner and admins when that is nobody.
        -> `{"user_ids": [...]}`."""
        firm = self.context.for_firm(firm_id)
        people = accounts.notification_recipients(self.db.session, firm, parse_id(account_id, "account"),
                                                  [parse_id(user_id, "user") for user_id in also or []])
        return schema(RecipientsSchema).dump({"user_ids": [person.id for person in people]})

    @rpc
    def chat_audience(self, firm_id: str, account_id: str) -> dict:
        """For chats: the account's activated portal users, the team to mention, its jobs, the firm's chat
        switches (crm.chat_audience)."""
        firm = self.context.for_firm(firm_id)
        return schema(ChatAudienceSchema).dump(
            chat_audience.chat_audience(self.db.session, firm, parse_id(account_id, "account")))

    @rpc
    def client_email_preferences(self, firm_id: str, account_id: str, email: str) -> dict:
        """What an email to `email` about this account must respect: `{known, notify, categories, status,
        user_id, first_name}`; `known` false for an address that is no access row of the account."""
        firm = self.context.for_firm(firm_id)
        if not isinstance(email, str):
            raise ValidationFailed("email must be a string.", {"email": ["Not a valid email."]})
        return schema(EmailPreferencesSchema).dump(
            access.email_preferences(self.db.session, firm, parse_id(account_id, "account"), email))
