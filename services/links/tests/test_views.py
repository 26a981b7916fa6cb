"""`describe_link`: a link's public page from one lookup, its view kept current by its owners' events."""
from __future__ import annotations

import re
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from nameko.amqp.publish import Publisher
from nameko.standalone.events import get_event_exchange
from nameko.standalone.rpc import ServiceRpcProxy
from nameko.testing.services import entrypoint_waiter
from sqlalchemy import event
from sqlalchemy.engine import Engine

from links.service import LinksService
from shared.contracts.crm import FIRM_CREATED
from shared.contracts.documents import FILE_REQUEST_UPDATED
from shared.events import EventType, envelope

VIEW = {"message": "Please send your W-2.", "ask_uploader": False, "expires_at": None, "max_files": None,
        "max_bytes": None, "allowed_types": ["pdf"]}


def file_request(firm, request_id=None, **extra):
    return {"firm_id": str(firm), "kind": "file_request", "single_use": False, "view": VIEW,
            "target": {"type": "file_request", "id": str(request_id or uuid.uuid4())}, **extra}


@pytest.fixture
def service(container_factory, config):
    """The links container and a proxy, and `publish(event, data, firm)`: an event as its owner emits it,
    returning once the container handled it."""
    container = container_factory(LinksService, config)
    container.start()

    def publish(event: EventType, handler: str, data: dict, firm) -> None:
        exchange = get_event_exchange(event.source, config)
        body = envelope(event, data, firm_id=firm, actor=None)
        with entrypoint_waiter(container, handler, timeout=15):
            Publisher(config["AMQP_URI"]).publish(body, exchange=exchange, routing_key=event.name, declare=[exchange])

    with ServiceRpcProxy("links", config, timeout=10) as proxy:
        yield proxy, publish


@dataclass
class Sent:
    """What reached PostgreSQL about links' own tables: each statement on them, and every statement of each
    committed transaction that touched them (the outbox relay's work, on other tables, is left out)."""

    statements: list[str] = field(default_factory=list)
    commits: list[list[str]] = field(default_factory=list)


_LINKS_TABLES = re.compile(r"\b(links|firm_names|failed_attempts)\b")


@pytest.fixture
def sent():
    """`with sent() as seen:` what the calls inside sent to the database (every engine of this process)."""

    @contextmanager
    def watch():
        seen = Sent()

        def statement(conn, cursor, sql, parameters, context, executemany):
            if _LINKS_TABLES.search(sql):
                seen.statements.append(sql)
            conn.info.setdefault("sent", []).append(sql)

        def commit(conn):
            sent = conn.info.pop("sent", [])
            if any(_LINKS_TABLES.search(sql) for sql in sent):
                seen.commits.append(sent)

        def rollback(conn):
            conn.info.pop("sent", None)

        listeners = [("before_cursor_execute", statement), ("commit", commit), ("rollback", rollback)]
        for name, listener in listeners:
            event.listen(Engine, name, listener)
        try:
            yield seen
        finally:
            for name, listener in listeners:
                event.remove(Engine, name, listener)

    return watch


def firm_created(publish, firm, name: str) -> None:
    owner = {"id": str(uuid.uuid4()), "firm_id": str(firm), "kind": "staff", "email": "o@example.com", "name": "O",
             "role": "owner", "rights": [], "status": "active", "created_at": "2026-11-23T10:00:00Z"}
    publish(FIRM_CREATED, "on_firm_created",
            {"firm": {"id": str(firm), "name": name, "created_at": "2026-11-23T10:00:00Z"}, "owner": owner}, firm)


def message_edited(publish, firm, link_id: str, request_id: str, message: str, updated_at: datetime) -> None:
    request = {"id": request_id, "firm_id": str(firm), "account_id": str(uuid.uuid4()),
               "folder_id": str(uuid.uuid4()), "message": message, "status": "open", "link_id": link_id,
               "created_by": None, "created_at": "2026-11-23T10:00:00Z",
               "updated_at": updated_at.isoformat().replace("+00:00", "Z")}
    publish(FILE_REQUEST_UPDATED, "on_file_request_updated", {"file_request": request}, firm)


def test_describe_link_answers_the_owners_view_and_the_firms_name_from_crm(service, firm, address):
    links, publish = service
    firm_created(publish, firm, "Acme CPA")
    issued = links.issue_link(file_request(firm))
    described = links.describe_link(issued["token"], address)
    assert (described["id"], described["kind"], described["firm_id"]) == (issued["id"], "file_request", str(firm))
    assert (described["firm_name"], described["view"]) == ("Acme CPA", VIEW)


def test_a_firm_links_never_heard_of_and_a_link_issued_without_a_view_answer_none(links, firm, address):
    issued = links.issue_link({**file_request(firm), "view": None})
    described = links.describe_link(issued["token"], address)
    assert (described["kind"], described["firm_name"], described["view"]) == ("file_request", None, None)


def test_an_edited_message_shows_on_the_page_and_an_older_edit_handled_late_does_not_undo_it(service, firm, address):
    links, publish = service
    request_id = str(uuid.uuid4())
    issued = links.issue_link(file_request(firm, request_id))
    now = datetime.now(UTC)
    message_edited(publish, firm, issued["id"], request_id, "Now the 1099 too.", now)
    assert links.describe_link(issued["token"], address)["view"] == {**VIEW, "message": "Now the 1099 too."}
    message_edited(publish, firm, issued["id"], request_id, "An earlier edit.", now - timedelta(seconds=1))
    assert links.describe_link(issued["token"], address)["view"]["message"] == "Now the 1099 too."


def test_a_revoked_link_is_gone_from_describe_link(links, firm, address, raises_remote):
    issued = links.issue_link(file_request(firm))
    links.revoke_link(issued["id"], str(firm))
    with raises_remote("Gone"):
        links.describe_link(issued["token"], address)


def test_describe_link_counts_wrong_tokens_and_refuses_them_while_the_address_waits(links, firm, address, new_address,
                                                                                   failures, raises_remote):
    token = links.issue_link(file_request(firm))["token"]
    with raises_remote("NotFound"):
        links.describe_link("x" * 43, address)
    assert failures.count(address) == 1  # counted although the call failed
    with raises_remote("Throttled") as refused:
        links.describe_link("y" * 43, address)
    assert refused.value.retry_after == 1 and failures.count(address) == 1  # refused, not counted
    with raises_remote("NotFound"):
        links.describe_link("not a token", new_address())  # another address: answered
    # API.md: "A valid link token always works, also from a throttled address".
    assert links.describe_link(token, address)["kind"] == "file_request"


def test_a_valid_token_is_one_statement_and_no_transaction(links, firm, address, sent):
    token = links.issue_link(file_request(firm))["token"]
    with sent() as seen:
        assert links.describe_link(token, address)["kind"] == "file_request"
    assert len(seen.statements) == 1 and seen.statements[0].lstrip().startswith("SELECT")
    assert seen.commits == []  # a read-only connection without a transaction: nothing to commit


def test_a_wrong_token_is_counted_in_one_statement_committed_on_its_own(links, address, failures, sent,
                                                                       raises_remote):
    with sent() as seen, raises_remote("NotFound"):
        links.describe_link("x" * 43, address)
    lookup, count = seen.statements
    assert lookup.lstrip().startswith("SELECT") and count.lstrip().startswith("INSERT INTO failed_attempts")
    assert seen.commits == [[count]] and failures.count(address) == 1
    assert "synchronous_commit" in count  # the count's commit does not wait for the disk (links.throttle)
