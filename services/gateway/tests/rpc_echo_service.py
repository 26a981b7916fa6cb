"""Tiny nameko services for the RpcClient tests, run with `nameko run rpc_echo_service:<Class>`.

They run in their own processes under eventlet, as every Porta service does; the tests reach
them over the real broker only. The service name comes from RPC_ECHO_NAME. `EchoService` uses
`shared.rpc.rpc` (what Porta services use), `StockEchoService` nameko's own `@rpc`, so the client
is checked against both reply paths; `MixedService` must refuse to start.
"""
import os

import eventlet
from nameko.extensions import DependencyProvider
from nameko.rpc import rpc as nameko_rpc

from shared.errors import NotFound
from shared.rpc import rpc

NAME = os.environ.get("RPC_ECHO_NAME", "rpc_echo")


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
