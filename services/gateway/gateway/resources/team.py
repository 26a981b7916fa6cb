"""The firm's team (crm)."""
from __future__ import annotations

from typing import Any

import falcon

from gateway.openapi import operation
from gateway.resources.paging import page_query
from shared.contracts.crm import (
    TeamAssignmentSchema,
    TeamInviteSchema,
    TeamListSchema,
    TeamPageSchema,
    TeamPatchSchema,
    UserSchema,
)
from shared.schemas import PageQuerySchema


class TeamCollection:
    auth = "staff"

    def __init__(self, rpc: Any) -> None:
        self.rpc = rpc

    @operation("The firm's team, newest first", query=PageQuerySchema, response=TeamPageSchema, errors=(422,))
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = self.rpc.call("crm", "list_team", context=req.context.call_context, query=page_query(req))

    @operation("Invite a team member", body=TeamInviteSchema, response=UserSchema, status=201, errors=(409,))
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = self.rpc.call("crm", "invite_team_member", context=req.context.call_context,
                                   payload=req.get_media())
        resp.status = falcon.HTTP_201


class TeamMember:
    auth = "staff"

    def __init__(self, rpc: Any) -> None:
        self.rpc = rpc

    @operation("Change a member's role or rights", body=TeamPatchSchema, response=UserSchema, errors=(409,))
    def on_patch(self, req: falcon.Request, resp: falcon.Response, member_id: Any) -> None:
        resp.media = self.rpc.call("crm", "update_team_member", context=req.context.call_context,
                                   member_id=str(member_id), payload=req.get_media())

    @operation("Remove a member; his sessions end", status=204, errors=(409,))
    def on_delete(self, req: falcon.Request, resp: falcon.Response, member_id: Any) -> None:
        self.rpc.call("crm", "remove_team_member", context=req.context.call_context, member_id=str(member_id))
        resp.status = falcon.HTTP_204


class AccountTeam:
    auth = "staff"

    def __init__(self, rpc: Any) -> None:
        self.rpc = rpc

    @operation("Assign team members to the account (replaces the assignment)", body=TeamAssignmentSchema,
               response=TeamListSchema)
    def on_put(self, req: falcon.Request, resp: falcon.Response, account_id: Any) -> None:
        resp.media = self.rpc.call("crm", "assign_account_team", context=req.context.call_context,
                                   account_id=str(account_id), payload=req.get_media())
