"""The Inbox+ item of a submitted client request, on the real database."""
from __future__ import annotations

import uuid

from notifications import client_request_notices

FIRM, ACCOUNT = uuid.uuid4(), uuid.uuid4()


def submitted(db, users, request, **counts):
    items = client_request_notices.request_submitted(
        db, users, FIRM, ACCOUNT, request, {"kind": "client", "user_id": uuid.uuid4(), "name": "Jane Smith",
                                            "email": "jane@home.example"},
        counts.get("answered", 3), counts.get("questions", 4), counts.get("documents", 2))
    db.commit()
    return items




def test_each_recipient_gets_an_unread_item_of_kind_client_request_submitted(db):
    users, request = [uuid.uuid4(), uuid.uuid4()], {"id": uuid.uuid4(), "title": "2025 taxes"}
    items = submitted(db, users, request)
    assert sorted(i.user_id for i in items) == sorted(users)
    item = items[0]
    assert (item.subject_type, item.subject_id, item.account_id) == ("client_request_submitted", request["id"],
                                                                     ACCOUNT)
    assert item.title == "Answers received for “2025 taxes”"
    assert item.body == "Jane Smith answered 3 of 4 questions, 2 files."
    assert (item.count, item.unread, item.data["kind"]) == (3, True, "client_request_submitted")


def test_the_same_submission_heard_twice_stays_one_item(db):
    user, request = uuid.uuid4(), {"id": uuid.uuid4(), "title": "2025 taxes"}
    [first] = submitted(db, [user], request)
    [again] = submitted(db, [user], request)
    assert first.id == again.id and again.title == first.title
