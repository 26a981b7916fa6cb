"""The CRM's payloads: what its RPCs accept (validated here) and return (dumped here).

The gateway documents its HTTP API from these same schemas.
"""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from crm.models import NOTIFICATION_CATEGORIES
from crm.permissions import RIGHTS, effective_rights
from shared.schemas import PageQuerySchema, Timestamp, page_schema

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
    rights = fields.Function(effective_rights, metadata={"description": "The rights in effect for this user"})
    status = fields.String(metadata={"description": "`invited` or `active`"})
    created_at = Timestamp()


class SignupResultSchema(Schema):
    token = fields.String()
    user = fields.Nested(UserSchema)
    firm = fields.Nested(FirmSchema)


class LoginResultSchema(Schema):
    token = fields.String()
    user = fields.Nested(UserSchema)


class MeSchema(UserSchema):
    firm = fields.Nested(FirmSchema)


class PrincipalSchema(Schema):
    """What `authenticate` tells the gateway about a bearer token."""

    session_id = fields.UUID()
    user_id = fields.UUID()
    firm_id = fields.UUID()
    kind = fields.String()


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
    guest = fields.Boolean(load_default=False, metadata={"description": "A guest account for non-clients"})


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
    login = fields.Boolean()
    notify = fields.Boolean()
    email_sync = fields.Boolean()


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
                             values=fields.Boolean(), required=True)


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
    prepayment = fields.Boolean(metadata={"description": "Clients may pay in advance for credit"})
    done_uploading = fields.Boolean(metadata={"description": "Clients get a Done uploading button"})
    auto_rename = fields.Boolean(metadata={"description": "Uploaded documents are renamed automatically"})
    appointments = fields.Boolean(metadata={"description": "Clients may book appointments"})
    announcement = fields.Boolean(metadata={"description": "The announcement shows in the portal"})
    clients_create_chats = fields.Boolean(metadata={"description": "Clients may start chat threads"})
    client_organizers = fields.Boolean(metadata={"description": "Clients may create organizers"})
    work_in_progress = fields.Boolean(metadata={"description": "Clients see their jobs' client statuses"})
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


class RecipientsSchema(Schema):
    """`list_account_recipients`' answer: the staff to notify, oldest team member first."""

    user_ids = fields.List(fields.UUID())
