"""The CRM's payloads: what its RPCs accept (validated here) and return (dumped here).

The gateway documents its HTTP API from these same schemas.
"""
from __future__ import annotations

from marshmallow import Schema, fields, validate

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


class AccountQuerySchema(PageQuerySchema):
    q = fields.String(load_default=None, validate=validate.Length(max=200),
                      metadata={"description": "Case-insensitive search in the account name"})


TeamPageSchema = page_schema(UserSchema, "TeamPage")
AccountPageSchema = page_schema(AccountSchema, "AccountPage")
