"""crm's wire contract: what its RPCs accept and return, the events it emits, its enums.

The crm service validates and dumps with these schemas (it computes `rights` before dumping a
user); the gateway documents its HTTP API from them; consumers of crm's events import the
event constants at the bottom.
"""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from shared.events import declare
from shared.schemas import PageQuerySchema, StrictBoolean, Timestamp, page_schema

RIGHTS = ("manage_accounts", "manage_documents", "manage_billing", "view_all_accounts")
NOTIFICATION_CATEGORIES = ("documents_upload", "documents_signature", "documents_approval", "chats_tasks",
                           "proposals", "organizers", "invoices_payments")
ACCOUNT_TYPES = ("individual", "family", "company")
TEAM_ROLES = ("admin", "employee")


class SignupSchema(Schema):
    firm_name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    email = fields.Email(required=True, validate=validate.Length(max=254))
    password = fields.String(required=True, load_only=True, validate=validate.Length(min=10, max=256))


class LoginSchema(Schema):
    email = fields.Email(required=True, validate=validate.Length(max=254))
    password = fields.String(required=True, load_only=True, validate=validate.Length(min=1, max=256))
    firm_id = fields.UUID(load_default=None, metadata={
        "description": "The firm to log in to, when this email and password open several (the answer without "
                       "it lists them in `firms`)"})


class AcceptInvitationSchema(Schema):
    password = fields.String(required=True, load_only=True, validate=validate.Length(min=10, max=256))


class FirmPublicSchema(Schema):
    name = fields.String()


class FirmSchema(Schema):
    id = fields.UUID()
    name = fields.String()
    created_at = Timestamp()


class UserSchema(Schema):
    id = fields.UUID()
    firm_id = fields.UUID()
    kind = fields.String(metadata={"description": "`staff` or `client`"})
    email = fields.String()
    name = fields.String()
    role = fields.String(allow_none=True, metadata={"description": "`owner`, `admin` or `employee` (staff)"})
    rights = fields.List(fields.String(), metadata={"description": "The rights in effect for this user"})
    status = fields.String(metadata={"description": "`invited` or `active`"})
    created_at = Timestamp()


class SignupResultSchema(Schema):
    token = fields.String()
    user = fields.Nested(UserSchema)
    firm = fields.Nested(FirmSchema)


class FirmChoiceSchema(Schema):
    id = fields.UUID()
    name = fields.String()


class LoginResultSchema(Schema):
    """`{token, user}`; or, when the email and password open logins in several firms and no `firm_id` was
    given, `{firms}` alone: no session was opened, the caller repeats the login with one `firm_id`."""

    token = fields.String()
    user = fields.Nested(UserSchema)
    firms = fields.List(fields.Nested(FirmChoiceSchema), metadata={
        "description": "Only when no firm was named and the email and password open several: choose one"})


class InvitationPublicSchema(Schema):
    """What an invitation's page may show: the inviting firm's name."""

    firm_name = fields.String()


class MeSchema(UserSchema):
    firm = fields.Nested(FirmSchema)


class PrincipalSchema(Schema):
    """What `authenticate` tells the gateway about a bearer token."""

    session_id = fields.UUID()
    user_id = fields.UUID()
    firm_id = fields.UUID()
    kind = fields.String()
    # The firm's firms.access_version as this request began: services key cached authorisations on it.
    access_version = fields.Integer()


class TeamInviteSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    email = fields.Email(required=True, validate=validate.Length(max=254))
    role = fields.String(required=True, validate=validate.OneOf(TEAM_ROLES))
    rights = fields.List(fields.String(validate=validate.OneOf(RIGHTS)), load_default=list)


class TeamPatchSchema(Schema):
    role = fields.String(validate=validate.OneOf(TEAM_ROLES))
    rights = fields.List(fields.String(validate=validate.OneOf(RIGHTS)))


class AccountCreateSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    type = fields.String(required=True, validate=validate.OneOf(ACCOUNT_TYPES))
    guest = StrictBoolean(load_default=False, metadata={"description": "A guest account for non-clients"})


class AccountPatchSchema(Schema):
    name = fields.String(validate=validate.Length(min=1, max=200))
    type = fields.String(validate=validate.OneOf(ACCOUNT_TYPES))


class AccountSchema(Schema):
    id = fields.UUID()
    name = fields.String()
    type = fields.String()
    guest = fields.Boolean()
    created_at = Timestamp()
    updated_at = Timestamp()


class CallerSchema(Schema):
    id = fields.UUID()
    name = fields.String()
    email = fields.String()


class AccountAuthorizationSchema(Schema):
    """`authorize_account`'s answer to the service that asked."""

    account = fields.Nested(AccountSchema)
    principal_kind = fields.String(metadata={"description": "`staff` or `client`"})
    user = fields.Nested(lambda: CallerSchema())
    portal_settings = fields.Nested(lambda: PortalSettingsSchema(), allow_none=True,
                                    metadata={"description": "Client callers only: the firm's portal switches"})


class AccountQuerySchema(PageQuerySchema):
    q = fields.String(load_default=None, validate=validate.Length(max=200),
                      metadata={"description": "Case-insensitive search in the account name"})


class AccountListSchema(Schema):
    """Every account at once (a client has a few): `next_cursor` is always null."""

    items = fields.List(fields.Nested(AccountSchema))
    next_cursor = fields.Constant(None, dump_only=True)


TeamPageSchema = page_schema(UserSchema, "TeamPage")
AccountPageSchema = page_schema(AccountSchema, "AccountPage")


class ContactCreateSchema(Schema):
    first_name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    last_name = fields.String(required=True, validate=validate.Length(min=0, max=100))
    emails = fields.List(fields.Email(validate=validate.Length(max=254)), load_default=list,
                         validate=validate.Length(max=50))


class ContactPatchSchema(Schema):
    first_name = fields.String(validate=validate.Length(min=1, max=100))
    last_name = fields.String(validate=validate.Length(min=0, max=100))
    emails = fields.List(fields.Email(validate=validate.Length(max=254)), validate=validate.Length(max=50),
                         metadata={"description": "The full new list; a changed address voids its pending "
                                                  "invitation and invites the new one"})


class ContactSchema(Schema):
    id = fields.UUID()
    first_name = fields.String()
    last_name = fields.String()
    emails = fields.Function(lambda contact: [e.email for e in contact.emails])
    created_at = Timestamp()
    updated_at = Timestamp()


class ContactLinkSchema(Schema):
    contact_id = fields.UUID(required=True)


class AccessSchema(Schema):
    email = fields.String()
    contact_id = fields.UUID()
    login = fields.Boolean()
    notify = fields.Boolean()
    email_sync = fields.Boolean()
    status = fields.String(metadata={"description": "`none`, `invited` or `active`"})


class AccessPatchSchema(Schema):
    login = StrictBoolean()
    notify = StrictBoolean()
    email_sync = StrictBoolean()


class BulkAccessItemSchema(AccessPatchSchema):
    account_id = fields.UUID(required=True)
    email = fields.Email(required=True)


class BulkAccessSchema(Schema):
    items = fields.List(fields.Nested(BulkAccessItemSchema), required=True,
                        validate=validate.Length(min=1, max=1000))


class AccessListSchema(Schema):
    """Every row at once (an account has a handful of emails): `next_cursor` is always null."""

    items = fields.List(fields.Nested(AccessSchema))
    next_cursor = fields.Constant(None, dump_only=True)


class CategoriesSchema(Schema):
    categories = fields.Dict(keys=fields.String(validate=validate.OneOf(NOTIFICATION_CATEGORIES)),
                             values=StrictBoolean(), required=True)


class TeamAssignmentSchema(Schema):
    user_ids = fields.List(fields.UUID(), required=True, validate=validate.Length(max=500))


class TeamListSchema(Schema):
    items = fields.List(fields.Nested(UserSchema))


class JobCreateSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    status = fields.String(required=True, validate=validate.Length(min=1, max=100))
    client_status = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=100))


class JobPatchSchema(Schema):
    name = fields.String(validate=validate.Length(min=1, max=200))
    status = fields.String(validate=validate.Length(min=1, max=100))
    client_status = fields.String(allow_none=True, validate=validate.Length(max=100))


class JobSchema(Schema):
    id = fields.UUID()
    account_id = fields.UUID()
    name = fields.String()
    status = fields.String()
    client_status = fields.String(allow_none=True)
    created_at = Timestamp()
    updated_at = Timestamp()


JobPageSchema = page_schema(JobSchema, "JobPage")


class PortalJobSchema(Schema):
    """A job as the client sees it in the portal: never the internal status."""

    id = fields.UUID()
    name = fields.String()
    client_status = fields.String(metadata={"description": "What the firm tells the client about this job"})
    updated_at = Timestamp()


PortalJobPageSchema = page_schema(PortalJobSchema, "PortalJobPage")


class PortalAnnouncementSchema(Schema):
    """The firm's announcement in the portal."""

    enabled = fields.Boolean(metadata={"description": "The firm shows an announcement"})
    text = fields.String(allow_none=True, metadata={"description": "The announcement; null when not enabled"})


class PortalSettingsSchema(Schema):
    prepayment = StrictBoolean(metadata={"description": "Clients may pay in advance for credit"})
    done_uploading = StrictBoolean(metadata={"description": "Clients get a Done uploading button"})
    auto_rename = StrictBoolean(metadata={"description": "Uploaded documents are renamed automatically"})
    appointments = StrictBoolean(metadata={"description": "Clients may book appointments"})
    announcement = StrictBoolean(metadata={"description": "The announcement shows in the portal"})
    clients_create_chats = StrictBoolean(metadata={"description": "Clients may start chat threads"})
    client_organizers = StrictBoolean(metadata={"description": "Clients may create organizers"})
    work_in_progress = StrictBoolean(metadata={"description": "Clients see their jobs' client statuses"})
    chat_email_content = StrictBoolean(metadata={"description": "A client's email about a new chat message shows "
                                                                "its content (`GET/PATCH /api/v1/settings/chats`)"})
    announcement_text = fields.String(validate=validate.Length(max=2000))
    updated_at = Timestamp(dump_only=True)


class PortalSettingsPatchSchema(PortalSettingsSchema):
    class Meta:
        exclude = ("updated_at",)


class EmailPreferencesSchema(Schema):
    """`client_email_preferences`' answer to a service about to email an address about an account."""

    known = fields.Boolean(metadata={"description": "The address is an access row of the account (else a third "
                                                    "party's)"})
    notify = fields.Boolean()
    categories = fields.Dict(keys=fields.String(), values=fields.Boolean())
    status = fields.String(metadata={"description": "`none`, `invited` or `active`"})
    user_id = fields.UUID(allow_none=True, metadata={"description": "The client user, once LOGIN was turned on"})
    first_name = fields.String(allow_none=True, metadata={"description": "The contact's, for a greeting"})


class ChatClientSchema(Schema):
    user_id = fields.UUID()
    email = fields.String()
    first_name = fields.String()
    last_name = fields.String()
    notify = fields.Boolean()


class ChatTeamMemberSchema(Schema):
    id = fields.UUID()
    name = fields.String()


class ChatAudienceSchema(Schema):
    """`chat_audience`' answer to chats: who receives a thread's messages and who may be mentioned."""

    account_name = fields.String()
    firm_name = fields.String()
    clients_create_chats = fields.Boolean()
    chat_email_content = fields.Boolean()
    clients = fields.List(fields.Nested(ChatClientSchema), metadata={
        "description": "Client users of the account with LOGIN on and an activated portal account"})
    team = fields.List(fields.Nested(ChatTeamMemberSchema))
    job_ids = fields.List(fields.UUID())


class RecipientsSchema(Schema):
    """`list_account_recipients`' answer: the staff to notify, oldest team member first."""

    user_ids = fields.List(fields.UUID())


# -- events: what crm emits, each `data` as consumers read it (firm_id and account_id are in the envelope) --


class ContactRecordSchema(ContactSchema):
    """A contact as events carry it (ContactSchema's dump): its addresses in order."""

    emails = fields.List(fields.String())


class FirmCreatedSchema(Schema):
    firm = fields.Nested(FirmSchema, required=True)
    owner = fields.Nested(UserSchema, required=True)


class UserActivatedSchema(Schema):
    user = fields.Nested(UserSchema, required=True)


class TeamMemberInvitedSchema(Schema):
    member = fields.Nested(UserSchema, required=True)
    firm_name = fields.String(required=True)
    inviter_name = fields.String(required=True)


class TeamMemberChangedSchema(Schema):
    """team_member_updated and team_member_removed: the member as he is (was) after the change."""

    member = fields.Nested(UserSchema, required=True)


class AccountChangedSchema(Schema):
    """account_created and account_deleted."""

    account = fields.Nested(AccountSchema, required=True)


class AccountUpdatedSchema(AccountChangedSchema):
    changed = fields.List(fields.String(), required=True, metadata={"description": "The fields sent, sorted"})


class AccountTeamAssignedSchema(Schema):
    account_id = fields.UUID(required=True)
    user_ids = fields.List(fields.UUID(), required=True, metadata={"description": "The whole team now"})


class ContactCreatedSchema(Schema):
    contact = fields.Nested(ContactRecordSchema, required=True)


class ContactUpdatedSchema(ContactCreatedSchema):
    replaced_emails = fields.Dict(keys=fields.String(), values=fields.String(), required=True,
                                  metadata={"description": "Old address -> the new one in its place"})


class ContactLinkChangedSchema(Schema):
    """contact_linked and contact_unlinked."""

    account_id = fields.UUID(required=True)
    contact_id = fields.UUID(required=True)


class PortalInvitationRequestedSchema(Schema):
    """What the notifications service needs to email a portal invitation."""

    firm_name = fields.String(required=True)
    account_id = fields.UUID(required=True)
    account_name = fields.String(required=True)
    email = fields.String(required=True)
    user_id = fields.UUID(required=True, metadata={"description": "The invited client user"})
    first_name = fields.String(required=True)


class PortalAccessChangedSchema(Schema):
    """portal_access_granted and portal_access_revoked."""

    account_id = fields.UUID(required=True)
    email = fields.String(required=True)
    user_id = fields.UUID(required=True, allow_none=True)


class NotificationCategoriesChangedSchema(Schema):
    account_id = fields.UUID(required=True)
    email = fields.String(required=True)
    categories = fields.Dict(keys=fields.String(validate=validate.OneOf(NOTIFICATION_CATEGORIES)),
                             values=fields.Boolean(), required=True, metadata={"description": "Every category now"})


class JobCreatedSchema(Schema):
    job = fields.Nested(JobSchema, required=True)


class JobUpdatedSchema(JobCreatedSchema):
    changed = fields.List(fields.String(), required=True, metadata={"description": "The fields sent, sorted"})


class PortalSettingChangeSchema(Schema):
    setting = fields.String(required=True, validate=validate.OneOf(tuple(PortalSettingsPatchSchema().fields)))
    old = fields.Raw(required=True, metadata={"description": "A switch's boolean or the announcement's text"})
    new = fields.Raw(required=True)


class PortalSettingsChangedSchema(Schema):
    changes = fields.List(fields.Nested(PortalSettingChangeSchema), required=True)


FIRM_CREATED = declare("crm", "firm_created", FirmCreatedSchema,
                       "A firm signed up; its actor is the new owner")
USER_ACTIVATED = declare("crm", "user_activated", UserActivatedSchema,
                         "An invited staff member or client user set his password; its actor is that user")
TEAM_MEMBER_INVITED = declare("crm", "team_member_invited", TeamMemberInvitedSchema,
                              "A staff member was invited to the firm's team")
TEAM_MEMBER_UPDATED = declare("crm", "team_member_updated", TeamMemberChangedSchema,
                              "A team member's role or rights changed")
TEAM_MEMBER_REMOVED = declare("crm", "team_member_removed", TeamMemberChangedSchema,
                              "A team member was removed; his sessions ended")
ACCOUNT_CREATED = declare("crm", "account_created", AccountChangedSchema, "A client account was created")
ACCOUNT_UPDATED = declare("crm", "account_updated", AccountUpdatedSchema, "An account's name or type changed")
ACCOUNT_DELETED = declare("crm", "account_deleted", AccountChangedSchema, "An account was deleted")
ACCOUNT_TEAM_ASSIGNED = declare("crm", "account_team_assigned", AccountTeamAssignedSchema,
                                "An account's assigned team was replaced")
CONTACT_CREATED = declare("crm", "contact_created", ContactCreatedSchema, "A contact was created")
CONTACT_UPDATED = declare("crm", "contact_updated", ContactUpdatedSchema,
                          "A contact's names or addresses changed")
CONTACT_LINKED = declare("crm", "contact_linked", ContactLinkChangedSchema, "A contact was linked to an account")
CONTACT_UNLINKED = declare("crm", "contact_unlinked", ContactLinkChangedSchema,
                           "A contact was unlinked from an account")
PORTAL_INVITATION_REQUESTED = declare("crm", "portal_invitation_requested", PortalInvitationRequestedSchema,
                                      "A client user is to be emailed a portal invitation for an account")
PORTAL_ACCESS_GRANTED = declare("crm", "portal_access_granted", PortalAccessChangedSchema,
                                "An active client user got portal access to another account")
PORTAL_ACCESS_REVOKED = declare("crm", "portal_access_revoked", PortalAccessChangedSchema,
                                "LOGIN was turned off for an address on an account")
NOTIFICATION_CATEGORIES_CHANGED = declare("crm", "notification_categories_changed",
                                          NotificationCategoriesChangedSchema,
                                          "The email categories an address gets for an account changed")
JOB_CREATED = declare("crm", "job_created", JobCreatedSchema, "A job was created on an account")
JOB_UPDATED = declare("crm", "job_updated", JobUpdatedSchema, "A job's name or statuses changed")
PORTAL_SETTINGS_CHANGED = declare("crm", "portal_settings_changed", PortalSettingsChangedSchema,
                                  "The firm's portal settings changed, each from its old to its new value")
