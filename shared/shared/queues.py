"""The queues event consumers read: quorum queues with a delivery limit and one dead-letter queue.

Every queue of `shared.entrypoints.event_handler` and `every_event` is declared here as a durable
**quorum** queue (Raft-replicated: on a three-node RabbitMQ cluster it survives the loss of a node)
with a **delivery limit**: after `DELIVERY_LIMIT` redeliveries (a handler that failed and requeued,
or a consumer that died holding the message) the broker moves the message to the dead-letter
exchange instead of handing it out again, so an event that can never be handled stops going round.

    porta.<service>.<method>.<source>.<event>   one handler's queue (event_handler)
    porta.<name>                                one every_event queue (`every_event(source, name)`)
    porta.dead-letters                          the dead-letter exchange (topic) and its one queue

Dead-lettering is `at-least-once` (RabbitMQ >= 3.10): a message leaves its queue only once the
dead-letter queue has it. The dead letter keeps its body, `message_id` and headers; the broker adds
`x-death` (the queue, the reason, the original exchange and routing keys), which
`python -m shared.dead_letters` reads to list and replay them.

Queue arguments are fixed at declaration: RabbitMQ refuses (PRECONDITION_FAILED) to redeclare a
queue with other arguments, and a classic queue cannot become a quorum queue. So these queues have
names of their own, and a consumer that finds the queue of the same consumer from before (nameko's
classic `evt-<source>-<event>--<service>.<method>`, or every_event's bare name) adopts it: unbinds it,
moves its messages into the new queue and deletes it once no consumer reads it any more
(`adopt_legacy`). Changing `DELIVERY_LIMIT` or the arguments later needs new names the same way.
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from amqp.exceptions import NotFound, PreconditionFailed
from kombu import Connection, Exchange, Queue

if TYPE_CHECKING:  # nameko only where messages are published: the gateway counts dead letters without it
    from nameko.amqp.publish import Publisher

log = logging.getLogger(__name__)

# Deliveries after the first before the broker dead-letters a message. With the pauses of
# shared.entrypoints (1, 2, 4 ... 30 s) a handler keeps failing for about three minutes first:
# a database restart or a short outage heals by itself; a message that can never be handled does not.
DELIVERY_LIMIT = 10
PREFIX = "porta."
DEAD_LETTER_EXCHANGE = "porta.dead-letters"
DEAD_LETTER_QUEUE = "porta.dead-letters"


def handler_queue_name(service: str, method: str, source: str, event: str) -> str:
    return f"{PREFIX}{service}.{method}.{source}.{event}"


def legacy_handler_queue_name(service: str, method: str, source: str, event: str) -> str:
    """nameko's name for a SERVICE_POOL handler's (classic) queue, used before quorum queues."""
    return f"evt-{source}-{event}--{service}.{method}"


def consumer_arguments(delivery_limit: int = DELIVERY_LIMIT) -> dict[str, Any]:
    return {
        "x-queue-type": "quorum",
        "x-delivery-limit": delivery_limit,
        "x-dead-letter-exchange": DEAD_LETTER_EXCHANGE,
        # at-least-once dead-lettering needs reject-publish; there is no length limit, so it never rejects.
        "x-dead-letter-strategy": "at-least-once",
        "x-overflow": "reject-publish",
    }


def consumer_queue(name: str, exchange: Exchange, routing_key: str) -> Queue:
    """A consumer's durable quorum queue bound to `exchange`; its dead letters carry its name as routing key."""
    return Queue(name, exchange=exchange, routing_key=routing_key, durable=True, auto_delete=False,
                 queue_arguments={**consumer_arguments(), "x-dead-letter-routing-key": name})


def dead_letter_exchange() -> Exchange:
    return Exchange(DEAD_LETTER_EXCHANGE, type="topic", durable=True)


def dead_letter_queue() -> Queue:
    """The one queue every dead letter lands in (a quorum queue too: dead letters must survive a node)."""
    return Queue(DEAD_LETTER_QUEUE, exchange=dead_letter_exchange(), routing_key="#", durable=True,
                 auto_delete=False, queue_arguments={"x-queue-type": "quorum"})


# Quorum queues with x-delivery-limit and at-least-once dead-lettering.
MINIMUM_VERSION = (3, 10)


def require_version(server_properties: dict[str, Any]) -> None:
    """Refuse a broker too old for these queues with a clear message, rather than its argument errors."""
    version = server_properties.get("version")
    version = version.decode() if isinstance(version, bytes) else str(version or "")
    try:
        found = tuple(int(part) for part in version.split(".")[:2])
    except ValueError:
        return  # not RabbitMQ's numbering: let the broker answer for itself
    if found < MINIMUM_VERSION:
        raise RuntimeError(f"RabbitMQ {version} is too old: Porta's event queues need {MINIMUM_VERSION[0]}."
                           f"{MINIMUM_VERSION[1]} or later (quorum queues with delivery limits and "
                           "at-least-once dead-lettering)")


def connect(amqp_uri: str, ssl: Any = None, login_method: str | None = None) -> Connection:
    return Connection(amqp_uri, ssl=ssl, login_method=login_method, connect_timeout=10)


def declare(amqp_uri: str, queue: Queue, legacy_name: str | None = None, *, ssl: Any = None,
            login_method: str | None = None) -> int:
    """Declare the dead-letter exchange and queue, then `queue` with its binding; adopt the legacy
    queue of the same consumer if there is one. Returns how many messages were moved from it."""
    with connect(amqp_uri, ssl, login_method) as connection:
        channel = connection.channel()
        require_version(connection.connection.server_properties)
        try:
            dead_letter_exchange()(channel).declare()
            dead_letter_queue()(channel).declare()
            queue(channel).declare()
        finally:
            _close(channel)
        if not legacy_name:
            return 0
        from nameko.amqp.publish import Publisher

        return adopt_legacy(connection, legacy_name, queue, Publisher(
            amqp_uri, use_confirms=True, mandatory=True, retry=False, ssl=ssl, login_method=login_method))


def adopt_legacy(connection: Connection, legacy_name: str, queue: Queue, publisher: Publisher) -> int:
    """Move what waits in the classic queue `legacy_name` into `queue` (declared) and delete it.

    Unbound first, so no new event lands there; messages are republished to `queue` through the
    default exchange with confirms, body, message id and headers unchanged, each acked from the old
    queue only after the broker confirmed its copy (a crash in between leaves a copy in both: the
    consumer applies an event once per id). A legacy queue that still has consumers (instances of the
    previous version during a rolling upgrade) is left to them; the next start deletes it."""
    channel = connection.channel()
    try:
        try:
            state = channel.queue_declare(legacy_name, passive=True)
        except NotFound:
            return 0
    finally:
        _close(channel)
    log.warning("adopting legacy queue %s (%d messages, %d consumers) into %s",
                legacy_name, state.message_count, state.consumer_count, queue.name)
    moved = 0
    channel = connection.channel()
    try:
        channel.queue_unbind(legacy_name, queue.exchange.name, queue.routing_key)
        _close(channel)
        moved = move_messages(connection, publisher, legacy_name, queue.name)
        channel = connection.channel()
        channel.queue_delete(legacy_name, if_unused=True, if_empty=True)
        log.warning("deleted legacy queue %s after moving %d messages to %s", legacy_name, moved, queue.name)
    except PreconditionFailed as error:
        log.warning("legacy queue %s kept for now (%s): its consumers drain it; a later start deletes it",
                    legacy_name, error)
    except NotFound:  # another instance of the service adopted it at the same time
        log.info("legacy queue %s is gone (adopted by another instance)", legacy_name)
    finally:
        _close(channel)
    return moved


def move_messages(connection: Connection, publisher: Publisher, source: str, target: str) -> int:
    """Republish every message of queue `source` to queue `target` (confirmed by the broker, through
    `publisher`: confirms and mandatory on), acking each from `source` only after."""
    moved = 0
    channel = connection.channel()
    try:
        while (message := channel.basic_get(source, no_ack=False)) is not None:
            publisher.publish(
                message.body, exchange="", routing_key=target, serializer=None,
                **republished_properties(message.properties, drop=("x-delivery-count",)),
            )
            channel.basic_ack(message.delivery_tag)
            moved += 1
    finally:
        _close(channel)
    return moved


def republished_properties(properties: dict[str, Any], drop: tuple[str, ...] = ()) -> dict[str, Any]:
    """The publish arguments that keep a message as it was: content type and encoding, message id,
    headers (less the broker's own `drop`), persistence."""
    headers = {k: v for k, v in (properties.get("application_headers") or {}).items() if k not in drop}
    kept = {
        "content_type": properties.get("content_type") or "application/json",
        "content_encoding": properties.get("content_encoding") or "utf-8",
        "headers": headers,
        "delivery_mode": 2,
    }
    for name in ("message_id", "correlation_id", "timestamp", "type", "app_id"):
        if properties.get(name) is not None:
            kept[name] = properties[name]
    return kept


def _close(channel: Any) -> None:
    try:
        if channel.is_open:
            channel.close()
    except Exception:  # noqa: S110 - a channel the broker closed on an error is already gone
        pass


__all__ = ["DEAD_LETTER_EXCHANGE", "DEAD_LETTER_QUEUE", "DELIVERY_LIMIT", "adopt_legacy", "connect",
           "consumer_arguments", "consumer_queue", "dead_letter_queue", "declare", "handler_queue_name",
           "legacy_handler_queue_name", "move_messages", "republished_properties"]
