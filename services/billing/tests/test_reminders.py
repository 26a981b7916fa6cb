"""Reminders of outstanding invoices: on the due date, then every few days, never twice a day, none once paid
or void; claimed with FOR UPDATE SKIP LOCKED, the time injected."""
from __future__ import annotations

import threading
import uuid
from datetime import UTC, date, datetime, timedelta

from sqlalchemy.orm import Session

from billing import invoices, ledger

# Earlier than any other test's invoices in the run's database, which a sweep (oldest first) would meet first.
DUE = date(2019, 3, 14)
DUE_MORNING = datetime(2019, 3, 14, 9, 0, tzinfo=UTC)


def issued(session: Session, firm: uuid.UUID | None = None, due: date = DUE):
    draft = invoices.draft(session, firm or uuid.uuid4(), uuid.uuid4(), {
        "currency": "EUR", "due_date": due, "memo": None,
        "items": [{"description": "Work", "quantity": 1, "unit_price": 1000}]}, uuid.uuid4())
    return invoices.issue(session, draft, ["client@example.com"], "Client")


def claimed_ids(session: Session, at: datetime) -> list[uuid.UUID]:
    return [r.invoice.id for r in invoices.claim_reminders(session, at)]


def test_a_reminder_goes_on_the_due_date_and_at_most_once_a_day(db):
    invoice = issued(db)
    assert invoice.id not in claimed_ids(db, DUE_MORNING - timedelta(minutes=1))
    [reminder] = [r for r in invoices.claim_reminders(db, DUE_MORNING + timedelta(minutes=5))
                  if r.invoice.id == invoice.id]
    assert reminder.reminder_count == 1
    assert invoice.id not in claimed_ids(db, DUE_MORNING + timedelta(hours=12))  # the daily cap
    assert invoice.id not in claimed_ids(db, DUE_MORNING + timedelta(days=1))
    later = [r for r in invoices.claim_reminders(db, DUE_MORNING + invoices.REMINDER_INTERVAL + timedelta(hours=1))
             if r.invoice.id == invoice.id]
    assert [r.reminder_count for r in later] == [2]


def test_no_reminder_once_paid_or_void(db):
    paid, voided, partly = issued(db), issued(db), issued(db)
    ledger.record_payment(db, paid, 1000, "cash")
    invoices.void(db, voided)
    ledger.record_payment(db, partly, 400, "cash")
    due = claimed_ids(db, DUE_MORNING + timedelta(hours=1))
    assert partly.id in due and paid.id not in due and voided.id not in due
    assert paid.next_reminder_at is None and voided.next_reminder_at is None


def test_two_sweepers_at_once_never_claim_the_same_invoice(engine):
    firm = uuid.uuid4()
    with Session(engine) as session:
        made = {issued(session, firm, date(2018, 1, 1)).id for _ in range(6)}
        session.commit()
    at = datetime(2018, 1, 2, tzinfo=UTC)
    found: list[list[uuid.UUID]] = []
    barrier = threading.Barrier(2)

    def sweep():
        with Session(engine) as session:
            barrier.wait()
            found.append([i for i in claimed_ids(session, at) if i in made])
            session.commit()

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(found[0] + found[1]) == sorted(made)  # each once, between them
    with Session(engine) as session:  # and nothing is due again today
        assert not [i for i in claimed_ids(session, at + timedelta(hours=1)) if i in made]
        session.rollback()
