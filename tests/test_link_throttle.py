"""Wrong link tokens over the whole system (API.md: a valid link token always works, also from a
throttled address; repeated wrong tokens from one address are throttled, 429 with a true Retry-After,
without slowing anyone else).

Each guesser connects from a loopback address of its own (`anonymous_from`), so its count is its own.
Time passes through the links database instead of sleeps: `pass_the_wait` moves an address's last
wrong guess back by the longest wait, as if it had been waited out.
"""
from __future__ import annotations

import secrets

import pytest
from sqlalchemy import text

from tests.samples import PDF, make_request, token_of

# The wait after the 1st, 2nd, ... answered wrong guess: 200 ms doubling to a cap of 25 s.
WAITS = [0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 12.8, 25.0, 25.0]
# Headers that differ from one answer to the next whatever the page.
VARYING = {"date", "content-length", "x-request-id", "retry-after", "server"}


@pytest.fixture
def links_db(service_engine):
    return service_engine("links")


@pytest.fixture
def account(firm):
    return firm["api"].post("/api/v1/accounts", json={"name": "Smith Family", "type": "family"}).json()


@pytest.fixture
def token(firm, account):
    """A live upload link's token."""
    return token_of(make_request(firm["api"], account))


def wrong() -> str:
    return secrets.token_urlsafe(32)


def pass_the_wait(links_db, address: str) -> None:
    with links_db.begin() as conn:
        conn.execute(text("UPDATE failed_attempts SET last_failure_at = last_failure_at - interval '30 seconds'"
                          " WHERE address = :a"), {"a": f"{address}/32"})


def guess_until_the_wait_is(links_db, guesser, waits: int, address: str | None = None) -> None:
    """`waits` answered wrong guesses from the guesser's address, each once the last wait is over."""
    for _ in range(waits):
        pass_the_wait(links_db, address or guesser.source_address)
        assert guesser.get(f"/api/public/links/{wrong()}").status_code == 404


def test_wrong_tokens_wait_longer_each_time_while_a_valid_token_still_works(links_db, anonymous_from, token):
    guesser = anonymous_from()
    said = []
    for n, wait in enumerate(WAITS, start=1):
        guess_until_the_wait_is(links_db, guesser, 1)
        if wait < 6:  # too short to be sure, on a loaded machine, that the next request comes within it
            continue
        refused = guesser.get(f"/api/public/links/{wrong()}")
        assert refused.status_code == 429 and refused.json()["title"] == "Too many requests"
        said.append(int(refused.headers["Retry-After"]))
        assert abs(said[-1] - wait) <= 1, (n, said)
        # The same address, meanwhile: its valid link answers at once, as data and as its page.
        assert guesser.get(f"/api/public/links/{token}").json()["kind"] == "file_request"
        assert guesser.get(f"/p/{token}").status_code == 200
    assert said == sorted(said) and said[0] < said[-1] == 25


def test_every_link_route_refuses_a_wrong_token_with_the_wait_and_takes_a_valid_one(links_db, anonymous_from,
                                                                                     token):
    guesser = anonymous_from()
    guess_until_the_wait_is(links_db, guesser, 8)  # 25 s
    for method, path, body in (("get", "/api/public/links/{}", None), ("get", "/p/{}", None),
                               ("post", "/api/public/links/{}/done", {}),
                               ("post", "/api/public/invitations/{}", {"password": "a long password"})):
        refused = getattr(guesser, method)(path.format(wrong()), json=body)
        assert refused.status_code == 429, (path, refused.status_code)
        assert 24 <= int(refused.headers["Retry-After"]) <= 25, path
    upload = guesser.post(f"/api/public/links/{wrong()}/files", params={"filename": "a.pdf"}, data=PDF,
                          headers={"Content-Type": "application/octet-stream"})
    assert upload.status_code == 429 and 24 <= int(upload.headers["Retry-After"]) <= 25
    sent = guesser.post(f"/api/public/links/{token}/files", params={"filename": "w2.pdf"}, data=PDF,
                        headers={"Content-Type": "application/octet-stream"})
    assert sent.status_code == 201, sent.text
    assert guesser.post(f"/api/public/links/{token}/done", json={}).status_code == 204


def test_another_address_is_not_slowed(links_db, anonymous_from, token):
    guesser, neighbour = anonymous_from(), anonymous_from()
    guess_until_the_wait_is(links_db, guesser, 8)
    assert guesser.get(f"/api/public/links/{wrong()}").status_code == 429
    assert neighbour.get(f"/api/public/links/{wrong()}").status_code == 404
    assert neighbour.get(f"/api/public/links/{token}").status_code == 200


def test_a_throttled_link_page_is_html_saying_how_long_to_wait(links_db, anonymous, base_url, page):
    # Chromium connects to the gateway on 127.0.0.1 from 127.0.0.1, as `anonymous` does: that address is
    # throttled for this test only.
    with links_db.begin() as conn:
        before = conn.execute(text("SELECT * FROM failed_attempts WHERE address = '127.0.0.1/32'")).mappings().first()
    try:
        guess_until_the_wait_is(links_db, anonymous, 8, address="127.0.0.1")  # 25 s
        dead = anonymous.get(f"/p/{wrong()}")
        assert dead.status_code == 429
        answer = page.goto(f"{base_url}/p/{wrong()}")
        assert answer.status == 429 and answer.headers["content-type"].startswith("text/html")
        wait = int(answer.headers["retry-after"])
        assert 24 <= wait <= 25
        assert "Too many" in page.inner_text("h1")
        assert f"{wait} seconds" in page.inner_text("main")
    finally:
        with links_db.begin() as conn:
            conn.execute(text("DELETE FROM failed_attempts WHERE address = '127.0.0.1/32'"))
            if before:
                conn.execute(text("INSERT INTO failed_attempts (address, failures, last_failure_at)"
                                  " VALUES (:address, :failures, :last_failure_at)"), dict(before))
    # The same headers as the page of a link that no longer works (no caching, no referrer, no index, ...).
    gone = anonymous.get(f"/p/{wrong()}")
    assert gone.status_code == 404
    same = {name: value for name, value in gone.headers.items() if name.lower() not in VARYING}
    assert {name: dead.headers.get(name) for name in same} == same
