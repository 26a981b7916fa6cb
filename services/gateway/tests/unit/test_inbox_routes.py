"""The Inbox+ routes over a fake RPC client: what they call, pass on and answer."""
from __future__ import annotations

import uuid

from shared.errors import NotFound, ValidationFailed

ITEM = {"id": str(uuid.uuid4()), "type": "file_request", "subject_id": str(uuid.uuid4()), "account_id": None,
        "title": "3 files received for “W-2 for 2025”", "body": "Latest from Jane Doe: a.pdf.", "count": 3,
        "event_count": 1, "data": {}, "unread": False, "read_at": "2026-11-23T10:00:00Z",
        "created_at": "2026-11-23T09:00:00Z", "updated_at": "2026-11-23T09:30:00Z"}


def test_the_inbox_lists_the_callers_items_through_notifications(client, rpc, staff):
    rpc.answers[("notifications", "list_inbox")] = {"items": [ITEM], "next_cursor": None}
    resp = client.simulate_get("/api/v1/inbox", headers=staff)
    assert resp.status_code == 200 and resp.json == {"items": [ITEM], "next_cursor": None}
    _, _, context, kwargs = rpc.last("list_inbox")
    assert (context["user_id"], context["firm_id"], context["user_kind"]) == ("u1", "f1", "staff")
    assert kwargs == {"query": {}}


def test_the_inbox_passes_unread_and_paging_on_and_nothing_else(client, rpc, staff):
    rpc.answers[("notifications", "list_inbox")] = {"items": [], "next_cursor": None}
    client.simulate_get("/api/v1/inbox", headers=staff,
                        params={"unread": "true", "limit": "10", "cursor": "c", "account_id": "x", "_": "1"})
    assert rpc.last("list_inbox")[3]["query"] == {"unread": "true", "limit": "10", "cursor": "c"}


def test_a_bad_inbox_parameter_is_422(client, rpc, staff):
    rpc.answers[("notifications", "list_inbox")] = ValidationFailed("bad", {"unread": ["Not a valid boolean."]})
    resp = client.simulate_get("/api/v1/inbox", headers=staff, params={"unread": "maybe"})
    assert resp.status_code == 422 and resp.json["errors"] == {"unread": ["Not a valid boolean."]}


def test_marking_an_item_read_answers_the_item(client, rpc, staff):
    rpc.answers[("notifications", "mark_inbox_read")] = ITEM
    resp = client.simulate_post(f"/api/v1/inbox/{ITEM['id']}/read", headers=staff)
    assert resp.status_code == 200 and resp.json == ITEM
    _, _, context, kwargs = rpc.last("mark_inbox_read")
    assert kwargs == {"item_id": ITEM["id"]} and context["user_id"] == "u1"


def test_someone_elses_item_is_404(client, rpc, staff):
    rpc.answers[("notifications", "mark_inbox_read")] = NotFound("No such inbox item.")
    assert client.simulate_post(f"/api/v1/inbox/{uuid.uuid4()}/read", headers=staff).status_code == 404


def test_an_item_id_that_is_no_uuid_is_404_without_a_call(client, rpc, staff):
    assert client.simulate_post("/api/v1/inbox/not-a-uuid/read", headers=staff).status_code == 404
    assert not [c for c in rpc.calls if c[1] == "mark_inbox_read"]


def test_the_inbox_is_for_staff_tokens(client):
    client_token = {"Authorization": "Bearer client-token"}
    assert client.simulate_get("/api/v1/inbox").status_code == 401
    assert client.simulate_get("/api/v1/inbox", headers=client_token).status_code == 403
    assert client.simulate_post(f"/api/v1/inbox/{uuid.uuid4()}/read", headers=client_token).status_code == 403


def test_the_inbox_is_in_the_openapi_document(client):
    paths = client.simulate_get("/openapi.json").json["paths"]
    listed = paths["/api/v1/inbox"]["get"]
    assert listed["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/InboxPage"}
    assert "unread" in {p["name"] for p in listed["parameters"]}
    read = paths["/api/v1/inbox/{item_id}/read"]["post"]
    assert {"200", "401", "403", "404"} <= set(read["responses"])
