"""Jobs on accounts (crm)."""
from __future__ import annotations

from typing import Any

import falcon

from gateway.openapi import operation
from gateway.resources.paging import page_query
from shared.contracts.crm import JobCreateSchema, JobPageSchema, JobPatchSchema, JobSchema
from shared.schemas import PageQuerySchema


class AccountJobs:
    auth = "staff"

    def __init__(self, rpc: Any) -> None:
        self.rpc = rpc

    @operation("The account's jobs, newest first", query=PageQuerySchema, response=JobPageSchema, errors=(422,))
    def on_get(self, req: falcon.Request, resp: falcon.Response, account_id: Any) -> None:
        resp.media = self.rpc.call("crm", "list_jobs", context=req.context.call_context,
                                   account_id=str(account_id), query=page_query(req))

    @operation("Start a job; `client_status` is what the portal shows", body=JobCreateSchema,
               response=JobSchema, status=201)
    def on_post(self, req: falcon.Request, resp: falcon.Response, account_id: Any) -> None:
        resp.media = self.rpc.call("crm", "create_job", context=req.context.call_context,
                                   account_id=str(account_id), payload=req.get_media())
        resp.status = falcon.HTTP_201


class Job:
    auth = "staff"

    def __init__(self, rpc: Any) -> None:
        self.rpc = rpc

    @operation("Change a job's name or statuses", body=JobPatchSchema, response=JobSchema)
    def on_patch(self, req: falcon.Request, resp: falcon.Response, job_id: Any) -> None:
        resp.media = self.rpc.call("crm", "update_job", context=req.context.call_context, job_id=str(job_id),
                                   payload=req.get_media())
