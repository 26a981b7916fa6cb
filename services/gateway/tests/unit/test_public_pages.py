"""Pages and public endpoints behind links: no login, no caching, no referrer, no index."""
from __future__ import annotations

import pytest

from shared.errors import Gone, NotFound, Throttled

INVITATION = {"id": "l1", "kind": "invitation", "firm_id": "f1", "target": {"type": "user", "id": "u9"}}


@pytest.fixture
def invitation(rpc):
    rpc.answers[("links", "describe_link")] = INVITATION
    rpc.answers[("crm", "describe_firm")] = {"name": "Smith & <Sons> CPA"}
    rpc.answers[("crm", "describe_invitation")] = {"firm_name": "Smith & <Sons> CPA"}


def assert_private(resp):
    assert resp.headers["Cache-Control"] == "no-store"
    assert resp.headers["Referrer-Policy"] == "no-referrer"
    assert resp.headers["X-Robots-Tag"] == "noindex"


def test_invitation_page_names_the_firm_escaped(client, invitation):
    resp = client.simulate_get("/p/tok123")
    assert resp.status_code == 200 and resp.headers["Content-Type"].startswith("text/html")
    assert "Smith &amp; &lt;Sons&gt; CPA invited you" in resp.text
    assert "/api/public/invitations/tok123" in resp.text
    assert_private(resp)


@pytest.mark.parametrize("error,status", [(NotFound("no"), 404), (Gone("used"), 410)])
def test_a_dead_link_shows_a_page_saying_so(client, rpc, error, status):
    rpc.answers[("links", "describe_link")] = error
    resp = client.simulate_get("/p/dead")
    assert resp.status_code == status and "no longer valid" in resp.text
    assert_private(resp)


def test_an_invitation_crm_voided_shows_the_dead_link_page_at_once(client, rpc, invitation):
    rpc.answers[("crm", "describe_invitation")] = Gone("This invitation is no longer valid.")
    resp = client.simulate_get("/p/tok123")
    assert resp.status_code == 410 and "no longer valid" in resp.text
    assert client.simulate_get("/api/public/links/tok123").status_code == 410


def test_throttled_link_lookups_are_429_with_retry_after(client, rpc):
    rpc.answers[("links", "describe_link")] = Throttled("slow down")
    resp = client.simulate_get("/api/public/links/x")
    assert resp.status_code == 429 and resp.headers["Retry-After"]


def test_link_info_shows_only_what_the_link_may_show(client, invitation):
    resp = client.simulate_get("/api/public/links/tok123")
    # Nothing of another kind's page: an invitation has no `file_request` key at all.
    assert resp.json == {"kind": "invitation", "firm_name": "Smith & <Sons> CPA", "message": None,
                         "expires_at": None}
    assert_private(resp)


def test_accepting_passes_the_token_the_password_and_the_callers_address(client, rpc):
    rpc.answers[("crm", "accept_invitation")] = {"token": "t", "user": {"kind": "client"}}
    resp = client.simulate_post("/api/public/invitations/tok123", json={"password": "a long password"},
                                remote_addr="10.1.2.3")
    _, _, _, kwargs = rpc.last("accept_invitation")
    assert resp.status_code == 200 and resp.json["token"] == "t"
    assert kwargs == {"token": "tok123", "payload": {"password": "a long password"}, "address": "10.1.2.3"}


def test_without_trusted_proxies_a_forwarded_header_is_ignored(client, invitation, rpc):
    client.simulate_get("/p/t", headers={"X-Forwarded-For": "1.2.3.4"}, remote_addr="10.0.0.9")
    assert rpc.last("describe_link")[3]["address"] == "10.0.0.9"


def test_behind_one_trusted_proxy_the_address_it_saw_is_used(rpc, invitation):
    import falcon.testing

    from gateway.app import create_app
    from shared.config import Settings

    client = falcon.testing.TestClient(create_app(rpc, Settings(trusted_proxies=1)))
    # The client forged the first entry; our proxy appended the address it really saw.
    client.simulate_get("/p/t", headers={"X-Forwarded-For": "6.6.6.6, 203.0.113.7"}, remote_addr="10.0.0.2")
    assert rpc.last("describe_link")[3]["address"] == "203.0.113.7"


FILE_REQUEST_LINK = {"id": "l2", "kind": "file_request", "firm_id": "f1", "expires_at": None,
                     "target": {"type": "file_request", "id": "r1"}, "firm_name": "Acme CPA",
                     "view": {"message": "Your W-2, please", "ask_uploader": False, "expires_at": None,
                              "max_files": None, "max_bytes": None, "allowed_types": None}}


def test_a_file_request_link_page_costs_one_call_to_links(client, rpc):
    rpc.answers[("links", "describe_link")] = FILE_REQUEST_LINK
    info = client.simulate_get("/api/public/links/tok").json
    page = client.simulate_get("/p/tok")
    assert (info["kind"], info["firm_name"], info["message"]) == ("file_request", "Acme CPA", "Your W-2, please")
    assert page.status_code == 200 and "Your W-2, please" in page.text
    assert [(service, method) for service, method, _, _ in rpc.calls] == [("links", "describe_link")] * 2


def test_a_link_of_a_firm_links_never_heard_of_asks_crm_beside_the_owning_service(client, rpc):
    rpc.answers[("links", "describe_link")] = {**FILE_REQUEST_LINK, "firm_name": None, "view": None}
    rpc.answers[("crm", "describe_firm")] = {"name": "Old Firm LLP"}
    rpc.answers[("documents", "describe_file_request")] = FILE_REQUEST_LINK["view"]
    info = client.simulate_get("/api/public/links/tok").json
    assert (info["firm_name"], info["message"]) == ("Old Firm LLP", "Your W-2, please")
    assert {method for _, method, _, _ in rpc.calls} == {"describe_link", "describe_firm", "describe_file_request"}
