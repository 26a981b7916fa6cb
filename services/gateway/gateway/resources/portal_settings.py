"""The firm's settings (crm)."""
from __future__ import annotations

from typing import Any

import falcon

from gateway.openapi import operation
from shared.contracts.crm import PortalSettingsPatchSchema, PortalSettingsSchema


class PortalSettings:
    auth = "staff"

    def __init__(self, rpc: Any) -> None:
        self.rpc = rpc

    @operation("What clients may do in the portal, and the announcement", response=PortalSettingsSchema)
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = self.rpc.call("crm", "get_portal_settings", context=req.context.call_context)

    @operation("Change portal settings (owner and admins); each change goes to the activity feed",
               body=PortalSettingsPatchSchema, response=PortalSettingsSchema)
    def on_patch(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = self.rpc.call("crm", "update_portal_settings", context=req.context.call_context,
                                   payload=req.get_media())
