"""Input no service should see (gateway.checks): refused before any call, with the field named."""
from __future__ import annotations

import json
import uuid

import falcon.testing
import pytest
from marshmallow import ValidationError

from gateway.app import create_app
from shared.config import Settings
from shared.contracts.crm import AccessPatchSchema, AccountCreateSchema, CategoriesSchema, PortalSettingsPatchSchema

JSON = {"Content-Type": "application/json"}
BAD = {"nul": "a\x00b", "surrogate": "a\ud800b"}


def calls_besides_authenticate(rpc) -> list[str]:
    return [method for _, method, _, _ in rpc.calls if method != "authenticate"]


@pytest.mark.parametrize("bad", BAD.values(), ids=BAD.keys())
def test_bad_text_anywhere_in_a_json_body_is_a_422_naming_each_field(client, rpc, staff, bad):
    body = {"name": bad, "type": "company", "nested": {"list": ["ok", bad]}, bad: 1}
    resp = client.simulate_post("/api/v1/accounts", headers={**staff, **JSON}, body=json.dumps(body))
    assert resp.status_code == 422
    assert resp.json["errors"] == {"name": [resp.json["errors"]["name"][0]], "nested": {"list": {"1": [
        resp.json["errors"]["name"][0]]}}, "a\ufffdb": [resp.json["errors"]["name"][0]]}
    assert calls_besides_authenticate(rpc) == []


def test_a_bad_top_level_string_is_named_schema(client, rpc):
    resp = client.simulate_post("/api/v1/auth/login", headers=JSON, body=json.dumps("a\x00"))
    assert resp.status_code == 422 and list(resp.json["errors"]) == ["_schema"]
    assert rpc.calls == []


def test_nul_in_the_query_string_or_a_path_parameter_is_a_422_without_a_call(client, rpc, staff):
    resp = client.simulate_get("/api/v1/accounts", headers=staff, query_string="q=a%00b")
    assert resp.status_code == 422 and list(resp.json["errors"]) == ["q"]
    resp = client.simulate_get(f"/api/v1/accounts/{uuid.uuid4()}/access/a%00@b.c/notifications", headers=staff)
    assert resp.status_code == 422 and list(resp.json["errors"]) == ["email"]
    resp = client.simulate_get("/api/public/links/a%00b")
    assert resp.status_code == 422 and list(resp.json["errors"]) == ["token"]
    assert calls_besides_authenticate(rpc) == []


@pytest.mark.parametrize("query", ["limit=1&limit=2", "q=a&q=a", "cursor=&cursor="])
def test_a_query_parameter_given_twice_is_a_400_without_a_call(client, rpc, staff, query):
    resp = client.simulate_get("/api/v1/accounts", headers=staff, query_string=query)
    assert resp.status_code == 400 and f"`{query.split('=')[0]}`" in resp.json["description"]
    assert calls_besides_authenticate(rpc) == []


def test_json_nested_past_reason_is_a_400(rpc, staff):
    client = falcon.testing.TestClient(create_app(rpc, Settings(max_json_body=1_000_000)))
    for body in ("[" * 100_000, "[" * 40 + "]" * 40, '{"a": ' * 40 + "1" + "}" * 40):
        resp = client.simulate_post("/api/v1/accounts", headers={**staff, **JSON}, body=body)
        assert resp.status_code == 400 and resp.json["title"], body[:50]
    assert calls_besides_authenticate(rpc) == []


def test_json_of_ordinary_depth_passes(client, rpc, staff):
    rpc.answers[("crm", "bulk_update_access")] = {"items": []}
    body = {"items": [{"account_id": str(uuid.uuid4()), "email": "a@b.c", "login": True}]}
    assert client.simulate_patch("/api/v1/access", headers=staff, json=body).status_code == 200
    assert rpc.last("bulk_update_access")[3]["payload"] == body


@pytest.mark.parametrize("schema,field", [(AccessPatchSchema, "login"), (AccountCreateSchema, "guest"),
                                          (PortalSettingsPatchSchema, "prepayment")])
@pytest.mark.parametrize("value", [0, 1, "true", "false", "yes", None])
def test_json_booleans_are_true_or_false_only(schema, field, value):
    base = {"name": "A", "type": "company"} if schema is AccountCreateSchema else {}
    with pytest.raises(ValidationError) as refused:
        schema().load({**base, field: value})
    assert field in refused.value.messages
    assert schema().load({**base, field: False})[field] is False


def test_category_switches_are_booleans_too():
    with pytest.raises(ValidationError):
        CategoriesSchema().load({"categories": {"documents_upload": 0}})
