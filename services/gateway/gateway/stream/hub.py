"""The stream process's subscribers, and the fan-out of each event to those allowed to see it.

Access is decided by crm at delivery time, never remembered from when the stream opened: before an event
goes to a session, crm has confirmed, with a check *begun after the event arrived*, that the session is
alive (`authenticate`) and that its user sees the event's account (`list_visible_account_ids` for staff,
`list_portal_accounts` for a client). An event is emitted after its change committed, so a logout, a LOGIN
turned off, a role or an assignment changed before that change is always seen by the check: delivery stops
the moment access is removed. Checks are per session, not per stream (a user's tabs share them), and one
check serves every event that had arrived before it began (a burst costs two calls per session, not two per
event). A session crm no longer knows ends its streams with an `end` event; crm's access events make every
stream of the firm be checked again at once, and a sweep re-checks every session now and then (a logout
announces nothing).
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from gateway.stream import audience
from shared import context as ctx
from shared.errors import PortaError, Unauthorized

log = logging.getLogger(__name__)

# An async `call(service, method, context, **kwargs)`: the gateway's RpcClient run off the event loop.
Call = Callable[..., Awaitable[Any]]

# A subscriber that lets this many events pile up unread is too slow to follow: its stream ends (it may
# reconnect and reload) rather than hold memory for it without bound.
BACKLOG_MAX = 1000
END = object()  # the queue item that ends a stream


@dataclass(eq=False)
class Subscriber:
    """One open stream: its principal (as crm authenticated it at the opening), its token, what it asked
    for (`events`, `account_ids`: None for everything) and the queue its responder reads."""

    principal: dict[str, Any]
    token: str
    events: frozenset[str] | None = None
    account_ids: frozenset[str] | None = None
    queue: asyncio.Queue = field(default_factory=asyncio.Queue)
    ended: str | None = None

    @property
    def kind(self) -> str:
        return self.principal["kind"]

    @property
    def firm_id(self) -> str:
        return str(self.principal["firm_id"])

    def wants(self, delivery: audience.Delivery) -> bool:
        if delivery.payload_for(self.kind) is None:
            return False
        if delivery.user_id is not None and delivery.user_id != str(self.principal["user_id"]):
            return False
        if self.events is not None and delivery.event not in self.events:
            return False
        return self.account_ids is None or delivery.account_id in self.account_ids

    def push(self, delivery: audience.Delivery) -> None:
        if self.ended:
            return
        if self.queue.qsize() >= BACKLOG_MAX:
            self.end("too_slow")
            return
        self.queue.put_nowait(delivery)

    def end(self, reason: str) -> None:
        """Ends the stream after what it already holds; the responder sends `end` with the reason."""
        if not self.ended:
            self.ended = reason
            self.queue.put_nowait(END)


@dataclass(frozen=True)
class Sight:
    """The accounts a session sees: every account of the firm, or these."""

    all: bool
    ids: frozenset[str]

    def sees(self, account_id: str | None) -> bool:
        return account_id is None or self.all or account_id in self.ids


@dataclass
class _Check:
    started: float
    task: asyncio.Future


class Gate:
    """crm's answers about sessions, each valid only for events that arrived before it was asked."""

    def __init__(self, call: Call, clock: Callable[[], float] = time.monotonic) -> None:
        self.call = call
        self.clock = clock
        self._principals: dict[str, _Check] = {}
        self._sights: dict[str, _Check] = {}

    async def principal(self, token: str, received: float) -> dict[str, Any] | None:
        """The session's principal, or None when crm no longer knows it (logged out, expired, removed)."""
        return await self._ask(self._principals, token, received, lambda: self._authenticate(token))

    async def sight(self, token: str, principal: dict[str, Any], received: float) -> Sight:
        return await self._ask(self._sights, token, received, lambda: self._visible(principal))

    def forget(self, token: str) -> None:
        self._principals.pop(token, None)
        self._sights.pop(token, None)

    async def _ask(self, checks: dict[str, _Check], token: str, received: float,
                   ask: Callable[[], Awaitable[Any]]) -> Any:
        check = checks.get(token)
        if check is None or check.started <= received:  # asked before the event arrived: ask again
            check = checks[token] = _Check(self.clock(), asyncio.ensure_future(ask()))
        return await asyncio.shield(check.task)

    async def _authenticate(self, token: str) -> dict[str, Any] | None:
        try:
            return await self.call("crm", "authenticate", {}, token=token)
        except Unauthorized:
            return None

    async def _visible(self, principal: dict[str, Any]) -> Sight:
        context = call_context(principal)
        if principal["kind"] == "client":
            answer = await self.call("crm", "list_portal_accounts", context)
            return Sight(False, frozenset(str(account["id"]) for account in answer["items"]))
        answer = await self.call("crm", "list_visible_account_ids", context)
        return Sight(bool(answer["all"]), frozenset(str(i) for i in answer["ids"]))


def call_context(principal: dict[str, Any]) -> dict[str, str]:
    """The nameko context data of a call made for this principal (as the gateway's AuthMiddleware sets it)."""
    return {ctx.FIRM_ID: str(principal["firm_id"]), ctx.USER_ID: str(principal["user_id"]),
            ctx.USER_KIND: principal["kind"], ctx.SESSION_ID: str(principal["session_id"])}


class Hub:
    """Every open stream of this process, by firm; `dispatch` is called once per event, in arrival order."""

    def __init__(self, gate: Gate, clock: Callable[[], float] = time.monotonic) -> None:
        self.gate = gate
        self.clock = clock
        self._by_firm: dict[str, set[Subscriber]] = defaultdict(set)

    def subscribe(self, subscriber: Subscriber) -> None:
        self._by_firm[subscriber.firm_id].add(subscriber)

    def unsubscribe(self, subscriber: Subscriber) -> None:
        firm = self._by_firm.get(subscriber.firm_id)
        if firm is None:
            return
        firm.discard(subscriber)
        if not any(other.token == subscriber.token for other in firm):
            self.gate.forget(subscriber.token)
        if not firm:
            del self._by_firm[subscriber.firm_id]

    def count(self) -> int:
        return sum(len(firm) for firm in self._by_firm.values())

    async def dispatch(self, envelope: dict[str, Any], received: float) -> None:
        """Deliver one event (received at `received`, the clock's time) to every stream that may see it."""
        if audience.is_access_change(envelope):
            await self.recheck(self._by_firm.get(str(envelope.get("firm_id")), ()), received)
            return
        delivery = audience.translate(envelope)
        if delivery is None:
            return
        wanting = [s for s in self._by_firm.get(delivery.firm_id, ()) if s.wants(delivery)]
        await asyncio.gather(*(self._deliver(token, group, delivery, received)
                               for token, group in _by_token(wanting).items()))

    async def _deliver(self, token: str, group: list[Subscriber], delivery: audience.Delivery,
                       received: float) -> None:
        try:
            principal = await self.gate.principal(token, received)
            if principal is None:
                for subscriber in group:
                    subscriber.end("signed_out")
                return
            if delivery.account_id is not None:
                sight = await self.gate.sight(token, principal, received)
                if not sight.sees(delivery.account_id):
                    return
        except PortaError as error:  # crm did not answer: deliver nothing rather than guess
            log.warning("stream delivery of %s skipped: %s", delivery.id, error)
            return
        for subscriber in group:
            subscriber.push(delivery)

    async def recheck(self, subscribers: Iterable[Subscriber], received: float | None = None) -> None:
        """Ask crm again about every session of `subscribers`; end the streams of sessions it no longer knows."""
        received = self.clock() if received is None else received

        async def check(token: str, group: list[Subscriber]) -> None:
            with contextlib.suppress(PortaError):  # unanswered: the next event or sweep asks again
                if await self.gate.principal(token, received) is None:
                    for subscriber in group:
                        subscriber.end("signed_out")

        await asyncio.gather(*(check(token, group) for token, group in _by_token(list(subscribers)).items()))

    async def sweep_forever(self, every: float) -> None:
        """Re-check every session each `every` seconds: a logout or an expiry announces nothing."""
        while True:
            await asyncio.sleep(every)
            await self.recheck([s for firm in list(self._by_firm.values()) for s in firm])


def _by_token(subscribers: list[Subscriber]) -> dict[str, list[Subscriber]]:
    groups: dict[str, list[Subscriber]] = defaultdict(list)
    for subscriber in subscribers:
        groups[subscriber.token].append(subscriber)
    return groups
