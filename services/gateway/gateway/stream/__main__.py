"""The stream process: `python -m gateway.stream` (the composition root: settings are read here once).

uvicorn serves the ASGI app on PORTA_HTTP_HOST:PORTA_STREAM_PORT; one AMQP consumer feeds the hub; a
sweep re-checks every session each minute; with PORTA_STREAM_HANDOFF, gateway workers on this machine
hand their stream connections over through that socket. SIGTERM/SIGINT stop it (uvicorn's handlers).
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import resource

import uvicorn

from gateway.rpc import RpcClient
from gateway.stream.app import create_stream_app, rpc_caller
from gateway.stream.consumer import EventConsumer
from gateway.stream.handoff import HandoffReceiver, uvicorn_adopter
from gateway.stream.hub import Gate, Hub
from shared.config import load_settings
from shared.logs import configure_logging

SWEEP_SECONDS = 60.0

log = logging.getLogger("gateway.stream")


def _more_descriptors() -> None:
    """One descriptor per open stream: raise the soft limit to the hard one."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


async def main() -> None:
    settings = load_settings()
    configure_logging("gateway-stream")
    _more_descriptors()
    rpc = RpcClient(settings.amqp_uri, timeout=settings.rpc_timeout, client_name="gateway-stream")
    call = rpc_caller(rpc)
    hub = Hub(Gate(call))
    consumer = EventConsumer(settings.amqp_uri, hub)
    app = create_stream_app(hub, call, heartbeat=settings.stream_heartbeat_seconds, ready=consumer.ready.is_set)
    server = uvicorn.Server(uvicorn.Config(app, host=settings.http_host, port=settings.stream_port, lifespan="off",
                                           access_log=False, log_config=None, timeout_graceful_shutdown=5,
                                           backlog=2048))
    background = [asyncio.create_task(consumer.run(), name="consumer"),
                  asyncio.create_task(hub.sweep_forever(SWEEP_SECONDS), name="sweep")]
    receiver = None
    serving = asyncio.create_task(server.serve(), name="uvicorn")
    try:
        while not server.started:  # the hand-off needs uvicorn's state; a consumer that failed ends the process
            await asyncio.sleep(0.05)
            for task in [*background, serving]:
                if task.done():
                    task.result()
        if settings.stream_handoff:
            receiver = HandoffReceiver(settings.stream_handoff, asyncio.get_running_loop(), uvicorn_adopter(server))
            receiver.start()
        log.info("streams on http://%s:%s%s", settings.http_host, settings.stream_port,
                 f", hand-off at {settings.stream_handoff}" if receiver else "")
        done, _ = await asyncio.wait([serving, *background], return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            if task is not serving:
                task.result()  # the consumer or the sweep failed: say why and exit non-zero
    finally:
        if receiver is not None:
            receiver.close()
        for task in background:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        rpc.close()


if __name__ == "__main__":
    asyncio.run(main())
