"""Bulk messages: one thread per account, made in the background in batches. Plain code over a session.

`create` stores the job and one `pending` row per account (numbered into batches of BATCH_SIZE) and
returns the `bulk_batch_queued` events, one per batch, that go out through the outbox with it: the request
answers at once, and any chats instance may take any batch. `run_batch` locks the batch's pending rows,
makes each account's thread through `make_thread` in a savepoint of its own (a refused account rolls back
alone and is `failed` with why), and adds the batch's outcome to the job's counters, all in the handler's
one transaction. A crash mid-batch rolls the batch back and the broker hands the event out again; rows
already `done` are skipped, and the (job, account) primary key makes a second thread for an account
impossible, so a job resumes without making any thread twice.
"""
from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, case, cast, column, func, insert, literal, select, type_coerce, update
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.orm import Session

from chats import templates
from chats.models import BulkItem, BulkJob
from shared.contracts.chats import BULK_BATCH_QUEUED, BULK_FAILURES_SHOWN
from shared.errors import NotFound, PortaError, ValidationFailed
from shared.events import EventLog

# A batch holds one of the instance's workers (nameko's max_workers, shared with its RPCs) for its whole
# length; small batches let a job's work spread over instances and resume after a crash with little redone.
BATCH_SIZE = 25
# Batches one instance runs at a time (shared.worker_limits): the other workers stay free for its RPCs,
# such as the job's own progress, however many batches wait. Two keep chats and crm both busy.
BATCH_WORKERS = 2
NO_SUCH_JOB = "No such bulk message."


def create(session: Session, *, firm_id: uuid.UUID, created_by: uuid.UUID, account_ids: Iterable[uuid.UUID],
           subject: str | None, body: str | None, template_id: uuid.UUID | None, now: datetime
           ) -> tuple[BulkJob, EventLog]:
    """The job, its accounts (each once, in the order given) and its batches' events. 422 when neither the
    request nor the template gives a subject and a message, for an unknown template or shortcode."""
    template = None
    if template_id is not None:
        try:
            template = templates.get(session, firm_id, template_id)
        except NotFound:
            raise ValidationFailed("No such chat template.", {"template_id": ["No such chat template."]}) from None
    missing = {name: ["Required unless a template gives it."] for name, value in
               (("subject", subject or (template.subject if template else None)),
                ("body", body or (template.body if template else None))) if not (value or "").strip()}
    if missing:
        raise ValidationFailed("A bulk message needs a subject and a message.", missing)
    templates.check_shortcodes({"subject": subject, "body": body})
    accounts = list(dict.fromkeys(account_ids))
    job = BulkJob(id=uuid.uuid4(), firm_id=firm_id, created_by=created_by, subject=subject, body=body,
                  template_id=template_id, total=len(accounts), done=0, failed=0, created_at=now)
    session.add(job)
    session.flush()
    # One statement with the ids as one array: 10,000 rows of VALUES cost the request several times more.
    given = func.unnest(cast(accounts, ARRAY(UUID(as_uuid=True)))).table_valued(
        column("account_id", UUID(as_uuid=True)), with_ordinality="n").render_derived()
    position = type_coerce(given.c.n, Integer) - 1
    session.execute(insert(BulkItem).from_select(
        ["job_id", "account_id", "batch", "position", "status"],
        select(literal(job.id, UUID(as_uuid=True)), given.c.account_id, position // BATCH_SIZE, position,
               literal("pending"))))
    log = EventLog()
    for batch in range(batches(job.total)):
        log.add(BULK_BATCH_QUEUED, {"job_id": str(job.id), "batch": batch}, firm_id=firm_id)
    return job, log


def batches(total: int) -> int:
    return -(-total // BATCH_SIZE)


def get_job(session: Session, firm_id: uuid.UUID, job_id: uuid.UUID) -> BulkJob:
    job = session.get(BulkJob, job_id)
    if job is None or job.firm_id != firm_id:
        raise NotFound(NO_SUCH_JOB)
    return job


@dataclass(frozen=True)
class Outcome:
    done: int
    failed: int


def run_batch(session: Session, job: BulkJob, batch: int, make_thread: Callable[[uuid.UUID], uuid.UUID],
              now: datetime) -> Outcome:
    """Make the threads of one batch's pending accounts. `make_thread(account_id)` makes one (flushing it
    and recording its events) and returns its id, or raises a PortaError saying why not: a refusal (4xx)
    fails that account; a service that did not answer (5xx) fails the batch, which is handed out again."""
    pending = session.scalars(
        select(BulkItem).where(BulkItem.job_id == job.id, BulkItem.batch == batch, BulkItem.status == "pending")
        .order_by(BulkItem.position).with_for_update()  # a second handler of the same batch waits, then skips
    ).all()
    done = failed = 0
    for item in pending:
        try:
            with session.begin_nested():  # a refused account rolls back alone
                item.thread_id = make_thread(item.account_id)
                item.status = "done"
            done += 1
        except PortaError as error:
            if error.status >= 500:  # a service did not answer: the whole batch is tried again later
                raise
            item.status, item.reason = "failed", reason_of(error)
            failed += 1
    session.flush()
    if done or failed:
        finished = BulkJob.done + BulkJob.failed + done + failed >= BulkJob.total
        session.execute(update(BulkJob).where(BulkJob.id == job.id).values(
            done=BulkJob.done + done, failed=BulkJob.failed + failed,
            finished_at=case((finished, func.coalesce(BulkJob.finished_at, now)), else_=BulkJob.finished_at)))
    return Outcome(done, failed)


def reason_of(error: PortaError) -> str:
    """Why an account got no thread, in the words its own request would have been refused with."""
    fields = error.errors if isinstance(error.errors, dict) else {}
    details = "; ".join(f"{name}: {' '.join(map(str, messages)) if isinstance(messages, list) else messages}"
                        for name, messages in fields.items())
    return f"{error.description} ({details})" if details else str(error.description)


def status(job: BulkJob) -> str:
    if job.done + job.failed >= job.total:
        return "done"
    return "running" if job.done or job.failed else "queued"


def view(session: Session, job: BulkJob) -> dict[str, Any]:
    """BulkJobSchema's fields: the counters and the first failures with their reasons."""
    failures = session.execute(
        select(BulkItem.account_id, BulkItem.reason).where(BulkItem.job_id == job.id, BulkItem.status == "failed")
        .order_by(BulkItem.position).limit(BULK_FAILURES_SHOWN)
    ).all()
    return {"id": job.id, "status": status(job), "total": job.total, "done": job.done, "failed": job.failed,
            "subject": job.subject, "template_id": job.template_id, "created_by": job.created_by,
            "created_at": job.created_at, "finished_at": job.finished_at,
            "failures": [{"account_id": account_id, "reason": reason} for account_id, reason in failures]}
