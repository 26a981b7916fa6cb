"""gateway.rpc.beside: one pool for the work a request runs beside the call it waits on."""
from __future__ import annotations

import contextvars
import threading

from gateway.rpc import beside
from shared import context as ctx


def test_work_beside_runs_on_another_thread_in_the_callers_context():
    ctx.request_id_var.set("req-1")  # what the request's log lines carry
    ran = beside(lambda: (threading.current_thread(), ctx.request_id_var.get())).result(timeout=5)
    assert ran == (ran[0], "req-1") and ran[0] is not threading.current_thread()


def test_what_runs_beside_does_not_change_the_callers_context():
    var = contextvars.ContextVar("var", default="before")
    beside(var.set, "after").result(timeout=5)
    assert var.get() == "before"
