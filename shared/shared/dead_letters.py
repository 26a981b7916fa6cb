"""Dead letters: events a consumer could not handle within its delivery limit (shared.queues).

    python -m shared.dead_letters list [--json]      every dead letter: its queue, event, reason, time
    python -m shared.dead_letters count              how many wait (the gateway's /metrics says it too)
    python -m shared.dead_letters replay (--all | --queue NAME ... | --id MESSAGE_ID ...)

The broker at PORTA_AMQP_URI (shared.config). `list` leaves every dead letter where it is. `replay`
publishes each chosen one back to the exchange and routing key it was first published with (read
from the broker's `x-death` header), with its body, `message_id` and headers unchanged, confirmed
and routed (`mandatory`), and only then removes it from the dead-letter queue; one that cannot be
routed stays. Every consumer bound to that routing key gets it again: those that had applied it
already find its id in `handled_messages` and skip it, so only the consumer that failed applies it.
Fix the cause first (the handler, the data it needs), then replay.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from amqp.exceptions import NotFound

from shared import queues


@dataclass(frozen=True)
class DeadLetter:
    queue: str  # the consumer queue it died in
    reason: str  # `delivery_limit` (failed too often), `rejected` (not an event at all), ...
    exchange: str  # where it was first published, and with which routing key: where replay sends it
    routing_key: str
    died_at: str | None
    deaths: int  # how many times it died in that queue (more than 1 after a replay that failed again)
    message_id: str | None
    event_id: str | None
    event_type: str | None
    source: str | None

    @classmethod
    def of(cls, message: Any) -> DeadLetter:
        headers = message.properties.get("application_headers") or {}
        death = (headers.get("x-death") or [{}])[0]  # the broker keeps the latest death first
        try:
            body = json.loads(message.body)
        except ValueError:
            body = None
        event = body if isinstance(body, dict) else {}
        died_at = death.get("time")
        return cls(
            queue=_text(death.get("queue") or headers.get("x-first-death-queue")),
            reason=_text(death.get("reason") or headers.get("x-first-death-reason")),
            exchange=_text(death.get("exchange") or headers.get("x-first-death-exchange")),
            routing_key=_text((death.get("routing-keys") or [""])[0]),
            died_at=died_at.isoformat() if isinstance(died_at, datetime) else None,
            deaths=int(death.get("count") or 1),
            message_id=message.properties.get("message_id"),
            event_id=_optional(event.get("id")), event_type=_optional(event.get("type")),
            source=_optional(event.get("source")),
        )


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value or "")


def _optional(value: Any) -> str | None:
    return None if value is None else str(value)


def count(amqp_uri: str, *, ssl: Any = None, login_method: str | None = None) -> int:
    """How many dead letters wait (0 when no consumer ever declared the dead-letter queue)."""
    with queues.connect(amqp_uri, ssl, login_method) as connection:
        channel = connection.channel()
        try:
            return channel.queue_declare(queues.DEAD_LETTER_QUEUE, passive=True).message_count
        except NotFound:
            return 0
        finally:
            queues._close(channel)


def _each(amqp_uri: str, visit: Callable[[Any, Any], None]) -> None:
    """Hand every dead letter waiting now to `visit(channel, message)` once; what it does not ack goes
    back to the queue when the channel closes (in its order)."""
    with queues.connect(amqp_uri) as connection:
        channel = connection.channel()
        try:
            try:
                waiting = channel.queue_declare(queues.DEAD_LETTER_QUEUE, passive=True).message_count
            except NotFound:
                return
            for _ in range(waiting):
                message = channel.basic_get(queues.DEAD_LETTER_QUEUE, no_ack=False)
                if message is None:
                    break
                visit(channel, message)
        finally:
            queues._close(channel)


def browse(amqp_uri: str) -> list[DeadLetter]:
    """Every dead letter, oldest first; each stays in the queue."""
    found: list[DeadLetter] = []
    _each(amqp_uri, lambda channel, message: found.append(DeadLetter.of(message)))
    return found


@dataclass(frozen=True)
class Replayed:
    letter: DeadLetter
    error: str | None = None  # why it stayed in the dead-letter queue


def replay(amqp_uri: str, chosen: Callable[[DeadLetter], bool]) -> list[Replayed]:
    """Publish each chosen dead letter back where it first went; remove it once the broker routed it."""
    from nameko.amqp.publish import Publisher, UndeliverableMessage  # not at import: the gateway only counts

    publisher = Publisher(amqp_uri, use_confirms=True, mandatory=True, retry=False)
    done: list[Replayed] = []

    def visit(channel: Any, message: Any) -> None:
        letter = DeadLetter.of(message)
        if not chosen(letter):
            return
        if not letter.exchange and not letter.routing_key:
            done.append(Replayed(letter, "no x-death header: not a dead letter of a Porta queue"))
            return
        try:
            publisher.publish(message.body, exchange=letter.exchange, routing_key=letter.routing_key,
                              serializer=None,
                              **queues.republished_properties(message.properties, drop=("x-delivery-count",)))
        except UndeliverableMessage:
            done.append(Replayed(letter, f"no queue is bound to {letter.exchange} {letter.routing_key} any more"))
            return
        channel.basic_ack(message.delivery_tag)
        done.append(Replayed(letter))

    _each(amqp_uri, visit)
    return done


def selection(every: bool = False, queue_names: Iterable[str] = (), ids: Iterable[str] = ()) -> Callable[
        [DeadLetter], bool]:
    """The dead letters `replay` takes: all of them, those of some queues, or some message or event ids."""
    queue_names, ids = set(queue_names), set(ids)
    if not (every or queue_names or ids):
        raise ValueError("say which dead letters: --all, --queue NAME or --id MESSAGE_ID")
    return lambda letter: every or letter.queue in queue_names or bool({letter.message_id, letter.event_id} & ids)


def _table(letters: list[DeadLetter]) -> str:
    rows = [("queue", "event", "id", "reason", "died at", "deaths")]
    rows += [(d.queue, f"{d.source or '?'}.{d.event_type or d.routing_key}", d.message_id or d.event_id or "-",
              d.reason, d.died_at or "-", str(d.deaths)) for d in letters]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
                     for row in rows)


def main(argv: list[str] | None = None) -> int:
    from shared.config import load_settings

    parser = argparse.ArgumentParser(prog="python -m shared.dead_letters", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    listing = commands.add_parser("list", help="every dead letter; none is removed")
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    commands.add_parser("count", help="how many dead letters wait")
    replaying = commands.add_parser("replay", help="publish dead letters back where they first went")
    replaying.add_argument("--all", action="store_true", dest="every")
    replaying.add_argument("--queue", action="append", default=[], help="the consumer queue they died in")
    replaying.add_argument("--id", action="append", default=[], dest="ids", help="a message id or event id")
    args = parser.parse_args(argv)
    amqp_uri = load_settings().amqp_uri

    if args.command == "count":
        print(count(amqp_uri))
        return 0
    if args.command == "list":
        letters = browse(amqp_uri)
        if args.json:
            for letter in letters:
                print(json.dumps(asdict(letter)))
        else:
            print(_table(letters) if letters else "no dead letters")
        return 0
    try:
        chosen = selection(args.every, args.queue, args.ids)
    except ValueError as error:
        parser.error(str(error))
    results = replay(amqp_uri, chosen)
    for result in results:
        letter = result.letter
        what = f"{letter.message_id or letter.event_id} ({letter.source}.{letter.event_type}, from {letter.queue})"
        print(f"replayed {what}" if result.error is None else f"kept {what}: {result.error}")
    replayed = sum(result.error is None for result in results)
    print(f"{replayed} replayed, {len(results) - replayed} kept")
    return 0 if replayed == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
