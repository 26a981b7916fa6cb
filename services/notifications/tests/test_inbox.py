"""The Inbox+ on the real database: one item per (recipient, subject), merged whatever the events' order."""
from __future__ import annotations

import uuid

import pytest

from notifications import inbox
from shared.errors import NotFound, ValidationFailed

FIRM = uuid.uuid4()
ACCOUNT = uuid.uuid4()
JANE = {"name": "Jane Doe", "email": "jane@bank.example"}


@pytest.fixture
def request_():
    """A file request (as the documents service describes it, with the firm and account of its events'
    envelope), new for each test."""
    return {"id": uuid.uuid4(), "firm_id": FIRM, "account_id": ACCOUNT, "folder_id": uuid.uuid4(),
            "link_id": uuid.uuid4(), "message": "W-2 for 2025\nPlease also send the 1099s.", "created_by": None}


@pytest.fixture
def users():
    return [uuid.uuid4(), uuid.uuid4()]


def docs(*names):
    return [{"id": uuid.uuid4(), "name": name} for name in names]


def received(db, users, request_, count, *names, uploader=JANE):
    firm, account = request_["firm_id"], request_["account_id"]
    items = inbox.files_received(db, users, firm, account, request_, uploader, docs(*names), count)
    db.commit()
    return items


def done(db, users, request_, count, uploader=JANE):
    firm, account = request_["firm_id"], request_["account_id"]
    items = inbox.file_request_done(db, users, firm, account, request_, uploader, count)
    db.commit()
    return items


def page(db, user, unread=None, limit=50, cursor=None):
    return inbox.list_inbox(db, FIRM, user, unread, limit, cursor)


def test_files_received_make_one_unread_item_per_recipient_naming_the_count_and_request(db, users, request_):
    items = received(db, users, request_, 3, "w2.pdf", "1099-int.pdf", "1099-div.pdf")
    assert sorted(i.user_id for i in items) == sorted(users)
    item = items[0]
    assert item.title == "3 files received for “W-2 for 2025”"
    assert item.body == "Latest from Jane Doe <jane@bank.example>: w2.pdf, 1099-int.pdf, 1099-div.pdf."
    assert (item.subject_type, item.subject_id, item.account_id, item.firm_id) == (
        "file_request", request_["id"], ACCOUNT, FIRM)
    assert (item.count, item.event_count, item.unread) == (3, 1, True)


def test_more_files_update_the_same_item_instead_of_adding_one(db, users, request_):
    [first] = received(db, users[:1], request_, 1, "w2.pdf")
    [second] = received(db, users[:1], request_, 4, "a.pdf", "b.pdf", "c.pdf")
    assert second.id == first.id
    assert (second.title, second.count, second.event_count) == ("4 files received for “W-2 for 2025”", 4, 2)
    assert [i.id for i in page(db, users[0])[0]] == [first.id]


def test_one_file_is_singular(db, users, request_):
    [item] = received(db, users[:1], request_, 1, "w2.pdf")
    assert item.title == "1 file received for “W-2 for 2025”"


def test_a_late_event_with_a_smaller_count_never_lowers_it(db, users, request_):
    received(db, users[:1], request_, 5, "e.pdf")
    [item] = received(db, users[:1], request_, 2, "b.pdf")
    assert item.count == 5 and item.title.startswith("5 files")


def test_an_arrival_makes_a_read_item_unread_again_and_moves_it_up(db, users, request_):
    user = users[0]
    [item] = received(db, [user], request_, 1, "w2.pdf")
    other = {**request_, "id": uuid.uuid4(), "message": "Bank statements"}
    received(db, [user], other, 1, "jan.pdf")
    inbox.mark_read(db, FIRM, user, item.id)
    db.commit()
    assert [i.unread for i in page(db, user)[0]] == [True, False]
    received(db, [user], request_, 2, "1099.pdf")
    items = page(db, user)[0]
    assert [(i.id, i.unread, i.read_at) for i in items][0] == (item.id, True, None)


def test_done_uploading_says_so_on_the_same_item(db, users, request_):
    [item] = received(db, users[:1], request_, 2, "a.pdf", "b.pdf")
    inbox.mark_read(db, FIRM, users[0], item.id)
    [after] = done(db, users[:1], request_, 2)
    assert after.id == item.id and after.unread is True
    assert after.title == "Jane Doe is done uploading for “W-2 for 2025”"
    assert after.body == "Jane Doe <jane@bank.example> pressed “Done uploading”; 2 files received in all."


def test_done_before_the_files_event_it_follows_still_reads_done(db, users, request_):
    done(db, users[:1], request_, 2)
    [item] = received(db, users[:1], request_, 2, "b.pdf")  # the upload that came before "done", handled late
    assert item.title.startswith("Jane Doe is done uploading")


def test_files_after_done_make_the_item_about_files_again(db, users, request_):
    received(db, users[:1], request_, 2, "a.pdf", "b.pdf")
    done(db, users[:1], request_, 2)
    [item] = received(db, users[:1], request_, 3, "c.pdf")
    assert item.title == "3 files received for “W-2 for 2025”"


def test_an_uploader_without_a_name_is_named_by_address_and_without_either_as_someone(db, users, request_):
    [item] = received(db, users[:1], request_, 1, "a.pdf", uploader={"name": "", "email": "x@y.example"})
    assert item.body == "Latest from x@y.example: a.pdf."
    [item] = done(db, users[:1], request_, 1, uploader=None)
    assert item.title == "x@y.example is done uploading for “W-2 for 2025”"  # the last known uploader stays
    other = {**request_, "id": uuid.uuid4()}
    [item] = done(db, users[:1], other, 0, uploader=None)
    assert item.title.startswith("Someone is done uploading")


def test_a_request_without_a_message_is_your_file_request(db, users, request_):
    [item] = received(db, users[:1], {**request_, "message": ""}, 1, "a.pdf")
    assert item.title == "1 file received for your file request"


def test_a_long_first_line_is_shortened_in_the_title(db, users, request_):
    [item] = received(db, users[:1], {**request_, "message": "x" * 500}, 1, "a.pdf")
    assert len(item.title) < 120 and item.title.endswith("…”")


def test_many_documents_are_summed_up(db, users, request_):
    [item] = received(db, users[:1], request_, 7, *(f"{n}.pdf" for n in range(7)))
    assert item.body.endswith("0.pdf, 1.pdf, 2.pdf, 3.pdf, 4.pdf and 2 more.")


def test_client_done_uploading_makes_one_item_for_the_accounts_uploads_and_counts_presses(db, users):
    account = uuid.uuid4()
    client = {"id": uuid.uuid4(), "name": "Cleo Client", "email": "cleo@home.example"}
    [first] = inbox.client_done_uploading(db, users[:1], FIRM, account, "Smith Family", client)
    db.commit()
    assert (first.subject_type, first.subject_id, first.account_id) == ("account_uploads", account, account)
    assert first.title == "Cleo Client is done uploading for Smith Family"
    assert first.body == "Cleo Client <cleo@home.example> pressed “Done uploading” in the portal."
    [second] = inbox.client_done_uploading(db, users[:1], FIRM, account, "Smith Family", client)
    assert second.id == first.id and second.count == 2 and second.body.endswith("(2 times).")


def test_a_recipient_named_twice_gets_one_item(db, users, request_):
    assert len(received(db, [users[0], users[0]], request_, 1, "a.pdf")) == 1


# -- reading ---------------------------------------------------------------------------------------------


def test_the_inbox_is_the_users_own_latest_activity_first(db, users, request_):
    me, someone = users
    requests = [{**request_, "id": uuid.uuid4()} for _ in range(3)]
    for r in requests:
        received(db, [me, someone], r, 1, "a.pdf")
    received(db, [me], requests[0], 2, "b.pdf")  # the oldest gets news: on top
    items, cursor = page(db, me)
    assert [i.subject_id for i in items] == [requests[0]["id"], requests[2]["id"], requests[1]["id"]]
    assert {i.user_id for i in items} == {me} and cursor is None


def test_another_firms_items_of_the_same_user_id_never_show(db, users, request_):
    received(db, users[:1], {**request_, "firm_id": uuid.uuid4()}, 1, "a.pdf")
    assert page(db, users[0]) == ([], None)


def test_unread_filters_the_inbox(db, users, request_):
    user = users[0]
    [read] = received(db, [user], request_, 1, "a.pdf")
    [unread] = received(db, [user], {**request_, "id": uuid.uuid4()}, 1, "b.pdf")
    inbox.mark_read(db, FIRM, user, read.id)
    assert [i.id for i in page(db, user, unread=True)[0]] == [unread.id]
    assert [i.id for i in page(db, user, unread=False)[0]] == [read.id]


def test_pages_follow_the_cursor_through_every_item_once(db, users, request_):
    user = users[0]
    ids = [received(db, [user], {**request_, "id": uuid.uuid4()}, 1, "a.pdf")[0].id for _ in range(5)]
    first, cursor = page(db, user, limit=2)
    second, cursor = page(db, user, limit=2, cursor=cursor)
    third, cursor = page(db, user, limit=2, cursor=cursor)
    assert cursor is None
    assert [i.id for i in first + second + third] == list(reversed(ids))


def test_a_cursor_we_did_not_issue_is_a_validation_error(db, users):
    with pytest.raises(ValidationFailed):
        page(db, users[0], cursor="garbage")


def test_mark_read_records_when_and_a_second_time_changes_nothing(db, users, request_):
    [item] = received(db, users[:1], request_, 1, "a.pdf")
    first = inbox.mark_read(db, FIRM, users[0], item.id)
    when = first.read_at
    again = inbox.mark_read(db, FIRM, users[0], item.id)
    assert (again.unread, again.read_at) == (False, when) and when is not None


def test_another_users_item_is_not_found(db, users, request_):
    [item] = received(db, users[:1], request_, 1, "a.pdf")
    with pytest.raises(NotFound):
        inbox.mark_read(db, FIRM, users[1], item.id)


def test_another_firms_item_is_not_found_even_for_the_same_user_id(db, users, request_):
    [item] = received(db, users[:1], request_, 1, "a.pdf")
    with pytest.raises(NotFound):
        inbox.mark_read(db, uuid.uuid4(), users[0], item.id)
