"""An account's folders: its two roots, what a client sees, and the rules for making folders."""
from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import eventlet
import pytest
from sqlalchemy import Engine, delete, event, func, select, text
from sqlalchemy.orm import Session

from documents import folders
from documents.models import Folder
from shared.errors import Conflict, NotFound, ValidationFailed


def test_an_accounts_roots_are_made_on_first_use_and_only_once(db, firm_id, account_id):
    first = folders.ensure_roots(db, firm_id, account_id)
    second = folders.ensure_roots(db, firm_id, account_id)
    assert {root: folder.id for root, folder in second.items()} == {root: folder.id for root, folder in first.items()}
    assert (first["private"].client_access, first["client"].client_access) == ("none", "view_edit")
    made = db.scalar(select(func.count()).select_from(Folder).where(Folder.account_id == account_id))
    assert made == 2


def test_roots_already_made_are_read_with_one_query_and_no_write(db, firm_id, account_id):
    folders.ensure_roots(db, firm_id, account_id)
    statements: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement.split()[0])

    bind = db.connection()
    event.listen(bind, "before_cursor_execute", record)
    try:
        assert set(folders.ensure_roots(db, firm_id, account_id)) == {"private", "client"}
    finally:
        event.remove(bind, "before_cursor_execute", record)
    assert statements == ["SELECT"]


@pytest.fixture
def committed(documents_engine: Engine, account_id: uuid.UUID) -> Iterator[Callable[[], Session]]:
    """`committed()`: a session of its own that really commits; the account's folders are deleted afterwards."""
    sessions: list[Session] = []

    def make() -> Session:
        sessions.append(Session(bind=documents_engine, expire_on_commit=False))
        return sessions[-1]

    yield make
    for session in sessions:
        session.close()
    with documents_engine.begin() as connection:
        connection.execute(delete(Folder).where(Folder.account_id == account_id))


def test_two_transactions_making_the_roots_at_once_get_the_same_two(committed, documents_engine, firm_id,
                                                                    account_id):
    first, second = committed(), committed()
    made = folders.ensure_roots(first, firm_id, account_id)  # inserted, not committed yet
    racing_pid = second.scalar(text("SELECT pg_backend_pid()"))
    racing = eventlet.spawn(folders.ensure_roots, second, firm_id, account_id)
    # The race is on once PostgreSQL says the second transaction waits for a lock (the first one's
    # uncommitted row in the unique index), however long it takes this machine to get there.
    with documents_engine.connect() as observer:
        deadline = time.monotonic() + 30
        while observer.scalar(text("SELECT wait_event_type FROM pg_stat_activity WHERE pid = :pid"),
                              {"pid": racing_pid}) != "Lock":
            assert not racing.dead, "the second transaction did not wait for the first"
            assert time.monotonic() < deadline, "the second transaction never waited for the first"
            observer.rollback()  # a new snapshot of pg_stat_activity at each look
            eventlet.sleep(0.05)
    assert not racing.dead  # waiting on the unique index for the first transaction
    first.commit()
    found = racing.wait()
    second.commit()
    assert {root: folder.id for root, folder in found.items()} == {root: folder.id for root, folder in made.items()}


def test_a_client_sees_only_folders_shown_to_him(db, firm_id, account_id, roots, make_folder):
    shown = make_folder("Tax returns", "view")
    editable = make_folder("Uploads", "view_edit")
    make_folder("Working papers", "none")
    seen = folders.list_folders(db, firm_id, account_id, client=True)
    assert {folder.id for folder in seen} == {roots["client"].id, shown.id, editable.id}


def test_staff_see_every_folder(db, firm_id, account_id, roots, make_folder):
    hidden = make_folder("Working papers", "none")
    seen = folders.list_folders(db, firm_id, account_id, client=False)
    assert {folder.id for folder in seen} == {roots["private"].id, roots["client"].id, hidden.id}


def test_a_private_folder_is_not_found_by_a_client(db, firm_id, account_id, make_folder):
    hidden = make_folder("Working papers", "none")
    with pytest.raises(NotFound):
        folders.get_folder(db, firm_id, account_id, hidden.id, client=True)
    assert folders.get_folder(db, firm_id, account_id, hidden.id, client=False).id == hidden.id


@pytest.mark.parametrize("client_access", ["view", "view_edit"])
def test_a_visible_folder_inside_a_private_one_is_refused(db, firm_id, account_id, roots, client_access):
    with pytest.raises(ValidationFailed) as info:
        folders.create_folder(db, firm_id, account_id, None,
                              {"name": "Shared", "parent_id": roots["private"].id, "client_access": client_access})
    assert info.value.status == 422 and "client_access" in info.value.errors


@pytest.mark.parametrize(("client_access", "root"), [("none", "private"), ("view", "client"),
                                                      ("view_edit", "client")])
def test_a_folder_without_a_parent_goes_under_the_root_matching_its_client_access(db, firm_id, account_id, roots,
                                                                                   client_access, root):
    folder = folders.create_folder(db, firm_id, account_id, None,
                                   {"name": "Notes", "parent_id": None, "client_access": client_access})
    assert (folder.parent_id, folder.client_access) == (roots[root].id, client_access)


@pytest.mark.parametrize("again", ["Receipts", "receipts", "  RECEIPTS "])
def test_a_sibling_of_the_same_name_in_any_case_is_a_conflict(db, firm_id, account_id, roots, make_folder, again):
    make_folder("Receipts", "view")
    with pytest.raises(Conflict) as info:
        folders.create_folder(db, firm_id, account_id, None,
                              {"name": again, "parent_id": roots["client"].id, "client_access": "view"})
    assert info.value.status == 409


def test_the_same_name_under_another_parent_is_fine(db, make_folder, roots):
    make_folder("Receipts", "view")
    other = make_folder("Receipts", "view", parent=make_folder("2024", "view"))
    assert other.name == "Receipts"


def test_child_folder_returns_the_existing_subfolder_instead_of_making_another(db, roots):
    made = folders.child_folder(db, roots["client"], "Invoices")
    assert folders.child_folder(db, roots["client"], "Invoices").id == made.id
    assert folders.child_folder(db, roots["client"], "INVOICES").id == made.id
    children = db.scalar(select(func.count()).select_from(Folder).where(Folder.parent_id == roots["client"].id))
    assert children == 1


def test_child_folder_inherits_its_parents_client_access(db, roots, make_folder):
    shown = make_folder("Shared", "view")
    assert folders.child_folder(db, shown, "2024").client_access == "view"
    assert folders.child_folder(db, roots["private"], "2024").client_access == "none"
