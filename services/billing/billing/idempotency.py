"""Idempotency keys of money-moving writes: a replay answers as the first request did, the same key with
another request is a Conflict (409), and concurrent copies record one effect.

A key is a row (firm_id, key) holding the first request's fingerprint and, once it succeeded, its answer.
The row is inserted in the transaction of the write it guards:

    replay = idempotency.begin(session, firm_id, key, idempotency.fingerprint("pay_invoice", invoice_id, body))
    if replay is not None:
        return replay.answer
    ... the write ...
    idempotency.finish(session, firm_id, key, answer)   # then the caller commits

`INSERT ... ON CONFLICT DO NOTHING` on the primary key waits while another transaction holds an
uncommitted row of the same key: copies sent at once queue behind the first and, once it commits, find
its answer (a failed first copy rolls its row back, and the next copy runs as if first). Only successes
are kept: a refused request (422, 409) leaves no row, so the client may correct it under the same key.
Plain Python over the caller's session.
"""
from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from billing.models import IdempotencyKey
from shared.contracts.billing import MAX_KEY_LENGTH
from shared.errors import Conflict, ValidationFailed


@dataclass(frozen=True)
class Replay:
    """The answer the first request with this key got."""

    answer: Any


def fingerprint(operation: str, target: Any, body: Any) -> str:
    """What makes two requests the same: the operation, what it acts on and its body (canonical JSON)."""
    canonical = json.dumps([operation, str(target) if target is not None else None, body], sort_keys=True,
                           separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def check_key(key: Any) -> str | None:
    """The key as given, or None when there is none; a malformed one is a 422 on `idempotency_key`."""
    if key is None:
        return None
    if not isinstance(key, str) or not 1 <= len(key) <= MAX_KEY_LENGTH or not key.isprintable():
        raise ValidationFailed("The Idempotency-Key is 1 to 255 printable characters.",
                               {"idempotency_key": [f"1 to {MAX_KEY_LENGTH} printable characters."]})
    return key


def begin(session: Session, firm_id: uuid.UUID, key: str | None, request_fingerprint: str) -> Replay | None:
    """None: go ahead (no key, or this transaction now holds it). A Replay: answer with the first request's
    answer. Conflict when the key was used for another request."""
    key = check_key(key)
    if key is None:
        return None
    inserted = session.execute(
        insert(IdempotencyKey).values(firm_id=firm_id, key=key, fingerprint=request_fingerprint, response=None)
        .on_conflict_do_nothing(index_elements=[IdempotencyKey.firm_id, IdempotencyKey.key])
    ).rowcount == 1
    row = session.scalars(select(IdempotencyKey).where(IdempotencyKey.firm_id == firm_id, IdempotencyKey.key == key)
                          .with_for_update().execution_options(populate_existing=True)).one()
    if inserted:
        return None
    if row.fingerprint != request_fingerprint:
        raise Conflict("This Idempotency-Key was used for another request: use a new key for a new request.")
    if row.response is None:  # cannot happen: a key row commits together with its answer
        raise Conflict("The first request with this Idempotency-Key has not finished.")
    return Replay(row.response)


def finish(session: Session, firm_id: uuid.UUID, key: str | None, answer: Any) -> None:
    """Store the answer of the request that holds the key (nothing without a key)."""
    if key is None:
        return
    row = session.get(IdempotencyKey, (firm_id, key))
    if row is None:
        raise LookupError("finish() without begin()")
    row.response = answer
    session.flush()
