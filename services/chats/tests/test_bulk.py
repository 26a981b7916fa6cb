"""Bulk messages: bulk.create's rows (what every batch handler reads: the job's accounts, their order and their
batches), and the service staying answerable while a big job's batches run."""
from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime

import eventlet
from eventlet.event import Event
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


def test_rpcs_are_answered_at_once_while_a_big_jobs_batches_hold_workers(start_chats) -> None:
    """More batches than the service has workers, each stuck on its first account (crm slow to answer): the
    batches hold at most BATCH_WORKERS workers, and the job's progress and other RPCs answer meanwhile."""
    running = start_chats()
    crm_answer, crm_slow = running.crm.authorize_account.side_effect, Event()
    waiting: list[str] = []  # one entry per batch stuck in crm

    def slow_authorize(account_id: str, right: str | None = None) -> dict:
        if not crm_slow.ready():
            waiting.append(account_id)
            crm_slow.wait()
        return crm_answer(account_id, right)

    running.crm.authorize_account.side_effect = slow_authorize
    max_workers = running.container.max_workers
    accounts = [str(uuid.uuid4()) for _ in range((max_workers + 2) * bulk.BATCH_SIZE)]
    with running.as_user() as proxy:
        job = proxy.start_bulk({"account_ids": accounts, "subject": "Hi", "body": "Hello"})
    try:
        deadline = time.monotonic() + 10
        while not waiting and time.monotonic() < deadline:
            eventlet.sleep(0.05)
        eventlet.sleep(1.0)  # time for any further batch to be delivered and take a worker
        assert waiting, "no batch reached crm"
        with running.as_user(timeout=3) as quick:  # each call answers within 3 s, or RpcTimeout fails the test
            for _ in range(max_workers):
                progress = quick.get_bulk(job["id"])
                assert quick.list_templates({})["items"] == []
        assert (progress["status"], progress["done"]) == ("queued", 0)
        assert len(waiting) <= bulk.BATCH_WORKERS < max_workers
    finally:  # the job ends before the test does: its batches would otherwise run into the next test's
        crm_slow.send()
        with running.as_user() as proxy:
            deadline = time.monotonic() + 60
            while (progress := proxy.get_bulk(job["id"]))["status"] != "done" and time.monotonic() < deadline:
                eventlet.sleep(0.2)
    assert (progress["done"], progress["failed"]) == (len(accounts), 0)
