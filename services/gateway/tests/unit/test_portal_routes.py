"""The client portal's crm routes (announcement, jobs) over a fake RPC client: what they call, pass on and answer."""
from __future__ import annotations

import uuid

import pytest

from shared.errors import Forbidden, NotFound, ValidationFailed

CLIENT = {"Authorization": "Bearer client-token"}
ACCOUNT = str(uuid.uuid4())
JOB = {"id": str(uuid.uuid4()), "name": "2026 tax return", "client_status": "In progress",
       "updated_at": "2026-11-23T10:00:00Z"}


def test_the_announcement_comes_from_crm_for_the_named_account(client, rpc):
    rpc.answers[("crm", "get_portal_announcement")] = {"enabled": True, "text": "Closed Friday"}
    resp = client.simulate_get(f"/portal/v1/accounts/{ACCOUNT}/announcement", headers=CLIENT)
    assert resp.status_code == 200 and resp.json == {"enabled": True, "text": "Closed Friday"}
    _, _, context, kwargs = rpc.last("get_portal_announcement")
    assert kwargs == {"account_id": ACCOUNT}
    assert (context["user_id"], context["firm_id"], context["user_kind"]) == ("u1", "f1", "client")


def test_the_jobs_pass_paging_on_and_nothing_else(client, rpc):
    rpc.answers[("crm", "list_portal_jobs")] = {"items": [JOB], "next_cursor": None}
    resp = client.simulate_get(f"/portal/v1/accounts/{ACCOUNT}/jobs", headers=CLIENT,
                               params={"limit": "10", "cursor": "c", "status": "x", "_": "1"})
    assert resp.status_code == 200 and resp.json == {"items": [JOB], "next_cursor": None}
    _, _, context, kwargs = rpc.last("list_portal_jobs")
    assert kwargs == {"account_id": ACCOUNT, "query": {"limit": "10", "cursor": "c"}}
    assert context["user_kind"] == "client"


@pytest.mark.parametrize("error,status", [
    (NotFound("No such account."), 404),
    (Forbidden("The firm has not turned on work in progress in the portal."), 403),
    (ValidationFailed("bad", {"limit": ["Must be between 1 and 200."]}), 422),
])
def test_crm_errors_keep_their_status(client, rpc, error, status):
    rpc.answers[("crm", "list_portal_jobs")] = error
    rpc.answers[("crm", "get_portal_announcement")] = error
    assert client.simulate_get(f"/portal/v1/accounts/{ACCOUNT}/jobs", headers=CLIENT).status_code == status
    if status == 404:
        assert client.simulate_get(f"/portal/v1/accounts/{ACCOUNT}/announcement", headers=CLIENT).status_code == 404


@pytest.mark.parametrize("tail", ["announcement", "jobs"])
def test_these_paths_are_for_client_tokens(client, rpc, staff, tail):
    path = f"/portal/v1/accounts/{ACCOUNT}/{tail}"
    assert client.simulate_get(path).status_code == 401
    assert client.simulate_get(path, headers=staff).status_code == 403
    assert client.simulate_get(f"/portal/v1/accounts/not-a-uuid/{tail}", headers=CLIENT).status_code == 404
    assert [c[1] for c in rpc.calls if c[1] != "authenticate"] == []


def test_both_routes_are_documented_with_crms_schemas(client):
    spec = client.simulate_get("/openapi.json").json
    announcement = spec["paths"]["/portal/v1/accounts/{account_id}/announcement"]["get"]
    jobs = spec["paths"]["/portal/v1/accounts/{account_id}/jobs"]["get"]
    assert set(announcement["responses"]) == {"200", "401", "403", "404"}
    assert set(jobs["responses"]) == {"200", "400", "401", "403", "404", "414", "422"}
    schemas = spec["components"]["schemas"]
    assert set(schemas["PortalJob"]["properties"]) == {"id", "name", "client_status", "updated_at"}
    assert set(schemas["PortalAnnouncement"]["properties"]) == {"enabled", "text"}
