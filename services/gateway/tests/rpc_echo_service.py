"""Tiny nameko services for the RpcClient tests, run with `nameko run rpc_echo_service:<Class>`.

They run in their own processes under eventlet, as every Porta service does; the tests reach
them over the real broker only. The service name comes from RPC_ECHO_NAME. `EchoService` uses
`shared.rpc.rpc` (what Porta services use), `StockEchoService` nameko's own `@rpc`, so the client
is checked against both reply paths; `MixedService` must refuse to start.
"""
import collections
import os
import time

import eventlet
from nameko.extensions import DependencyProvider
from nameko.rpc import rpc as nameko_rpc

from shared.errors import NotFound
from shared.rpc import rpc

NAME = os.environ.get("RPC_ECHO_NAME", "rpc_echo")
# gather(): how many calls with each key have come in so far.
GATHERED: collections.Counter = collections.Counter()


class WorkerContextData(DependencyProvider):
    """What the service saw of the call: context data and nameko's call id stack."""

    def get_dependency(self, worker_ctx):
        return {"data": dict(worker_ctx.data), "call_id_stack": worker_ctx.call_id_stack}


class EchoService:
    name = NAME
    seen = WorkerContextData()

    @rpc
    def echo(self, **kwargs):
        return {"kwargs": kwargs}

    @rpc
    def context(self):
        return self.seen

    @rpc
    def not_found(self, what):
        raise NotFound(f"No {what} here.", {"what": what})

    @rpc
    def broken(self):
        raise ZeroDivisionError("boom")

    @rpc
    def sleep(self, seconds):
        eventlet.sleep(seconds)
        return seconds

    @rpc
    def hold(self, release, arrived=None):
        """Touch the file `arrived` (the call is here), then answer once the file `release` exists:
        the test decides when the reply goes out, instead of guessing with sleeps."""
        if arrived:
            open(arrived, "a").close()
        while not os.path.exists(release):
            eventlet.sleep(0.02)
        return "released"

    @rpc
    def gather(self, key, count, wait=20.0):
        """True once `count` calls with this `key` are in at the same time; False if they were not
        within `wait` seconds (the caller sent them one after the other)."""
        GATHERED[key] += 1
        deadline = time.monotonic() + wait
        while GATHERED[key] < count:
            if time.monotonic() > deadline:
                return False
            eventlet.sleep(0.01)
        return True


class StockEchoService:
    name = NAME
    seen = WorkerContextData()

    @nameko_rpc
    def echo(self, **kwargs):
        return {"kwargs": kwargs}

    @nameko_rpc
    def context(self):
        return self.seen

    @nameko_rpc
    def not_found(self, what):
        raise NotFound(f"No {what} here.", {"what": what})


class MixedService:
    name = NAME

    @rpc
    def echo(self, **kwargs):
        return kwargs

    @nameko_rpc
    def health(self):
        return "ok"
