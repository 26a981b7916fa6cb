"""Cross-service tests: the whole system runs (devstack's `porta_system`); tests speak HTTP to it."""
from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from typing import Any

import pytest
import requests
import requests.adapters
from urllib3.util import Retry

from tests.emails import link_in, to, token_of

# One read's retry on a kept-alive connection the gateway closed as idle just as the request went out
# (gunicorn's keepalive is 2 s: a test that sleeps 2 s and reads again hit that race), as browsers and
# HTTP libraries retry idempotent requests. Writes are never retried.
STALE_CONNECTION_RETRY = Retry(total=2, connect=0, read=2, status=0, other=0, allowed_methods={"GET", "HEAD"},
                               raise_on_status=False)


class _FromAddress(requests.adapters.HTTPAdapter):
    """Connections bound to one local source address (any 127.x.y.z reaches the gateway on loopback)."""

    def __init__(self, address: str) -> None:
        self.address = address
        super().__init__(max_retries=STALE_CONNECTION_RETRY)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **{**kwargs, "source_address": (self.address, 0)})


class Api:
    """A thin HTTP client for one user of the running gateway; `source_address` binds its connections."""

    def __init__(self, base_url: str, token: str | None = None, source_address: str | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = requests.Session()
        self.source_address = source_address
        self.session.mount("http://", _FromAddress(source_address) if source_address else
                           requests.adapters.HTTPAdapter(max_retries=STALE_CONNECTION_RETRY))
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"

    def __getattr__(self, verb: str) -> Callable[..., requests.Response]:
        if verb not in ("get", "post", "put", "patch", "delete"):
            raise AttributeError(verb)
        return lambda path, **kw: self.session.request(verb.upper(), self.base_url + path, timeout=30, **kw)


@pytest.fixture(scope="session")
def base_url(porta_system) -> str:
    return porta_system.url


@pytest.fixture
def api_for(base_url) -> Callable[[str], Api]:
    """An Api that sends the given bearer token."""
    return lambda token: Api(base_url, token)


@pytest.fixture
def anonymous(base_url) -> Api:
    return Api(base_url)


@pytest.fixture
def anonymous_from(base_url) -> Callable[[], Api]:
    """`anonymous_from()`: an Api without login whose connections come from a loopback address of its own
    (`.source_address`, 127.x.y.z), so what the gateway keys on the client's address (throttling) is the
    caller's alone and no other test sees it."""
    return lambda: Api(base_url, source_address=f"127.{random.randrange(1, 255)}.{random.randrange(256)}."
                                                  f"{random.randrange(1, 255)}")


@pytest.fixture
def signup(base_url) -> Callable[..., dict[str, Any]]:
    """Signs a new firm up; returns the 201 body and an Api logged in as its owner (`api`)."""

    def make(firm_name: str = "Acme CPA") -> dict[str, Any]:
        email = f"owner-{uuid.uuid4().hex[:10]}@example.com"
        resp = Api(base_url).post("/api/v1/auth/signup", json={
            "firm_name": firm_name, "name": "Olive Owner", "email": email, "password": "correct horse battery"})
        assert resp.status_code == 201, resp.text
        body = resp.json()
        return {**body, "email": email, "api": Api(base_url, body["token"])}

    return make


@pytest.fixture
def firm(signup) -> dict[str, Any]:
    return signup()


@pytest.fixture
def documents_event(porta_system, porta_env) -> Callable[..., dict[str, Any]]:
    """`documents_event(EVENT, data, firm_id=..., account_id=...)`: one declared event of the documents
    service (its payload checked against the contract), published into the running system as its outbox
    relay publishes it (confirmed and routed to a bound queue, or this raises); returns the envelope.
    For consumers' tests that need events the documents service would only emit after long set-ups."""
    from nameko.amqp.publish import Publisher
    from nameko.standalone.events import get_event_exchange

    from shared.events import EventType, envelope

    config = {"AMQP_URI": porta_env["PORTA_AMQP_URI"]}
    publisher = Publisher(config["AMQP_URI"], use_confirms=True, mandatory=True)
    exchange = get_event_exchange("documents", config)

    def publish(event: EventType, data: dict[str, Any], *, firm_id: str, account_id: str | None) -> dict[str, Any]:
        assert event.source == "documents"
        body = envelope(event, data, firm_id=firm_id, account_id=account_id)
        publisher.publish(body, exchange=exchange, routing_key=event.name, declare=[exchange])
        return body

    return publish


@pytest.fixture
def client_invited(firm, mailbox) -> dict[str, Any]:
    """An account whose contact Jane got LOGIN on; returns the api, account, address and emailed link."""
    api = firm["api"]
    account = api.post("/api/v1/accounts", json={"name": "Smith Family", "type": "family"}).json()
    address = "jane-" + firm["email"]
    jane = api.post("/api/v1/contacts", json={"first_name": "Jane", "last_name": "Smith", "emails": [address]}).json()
    api.post(f"/api/v1/accounts/{account['id']}/contacts", json={"contact_id": jane["id"]})
    resp = api.patch(f"/api/v1/accounts/{account['id']}/access/{address}", json={"login": True, "notify": True})
    assert resp.json()["status"] == "invited"
    message = mailbox.wait_for(to(address), timeout=20)
    return {"api": api, "account": account, "address": address, "contact": jane, "message": message,
            "link": link_in(message)}


@pytest.fixture
def client_portal(client_invited, anonymous, api_for) -> dict[str, Any]:
    """Jane, active in the portal on the Smith Family account (`client`), the firm's owner (`staff`)
    and the account's portal path (`base`)."""
    accepted = anonymous.post(f"/api/public/invitations/{token_of(client_invited['link'])}",
                              json={"password": "jane's long password"})
    assert accepted.status_code == 200, accepted.text
    account = client_invited["account"]
    return {**client_invited, "client": api_for(accepted.json()["token"]), "staff": client_invited["api"],
            "base": f"/portal/v1/accounts/{account['id']}"}
