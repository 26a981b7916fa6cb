"""bulk.create's rows: what every batch handler reads (the job's accounts, their order and their batches)."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from chats import bulk
from chats.models import BulkItem


def test_a_job_numbers_its_accounts_into_batches_in_the_order_given_each_once(db: Session) -> None:
    accounts = [uuid.uuid4() for _ in range(2 * bulk.BATCH_SIZE + 3)]
    job, events = bulk.create(db, firm_id=uuid.uuid4(), created_by=uuid.uuid4(), account_ids=accounts + accounts[:2],
                              subject="Hi", body="Hello", template_id=None,
                              now=datetime(2026, 11, 23, 9, 0, tzinfo=UTC))
    rows = db.execute(select(BulkItem.account_id, BulkItem.position, BulkItem.batch, BulkItem.status)
                      .where(BulkItem.job_id == job.id).order_by(BulkItem.position)).all()
    assert job.total == len(accounts) and len(events) == 3
    assert [(r.account_id, r.position, r.batch, r.status) for r in rows] == [
        (account, position, position // bulk.BATCH_SIZE, "pending") for position, account in enumerate(accounts)]
