"""Server-Sent Events for staff (`/api/v1/stream`) and client users (`/portal/v1/stream`), served by a
process of their own: Falcon's ASGI app under uvicorn (`python -m gateway.stream`), so an open stream
holds a coroutine, never one of the gthread gateway's request threads. docs/realtime.md tells the whole.

- `audience`: which broker events are pushed, under which SSE name, and what staff and clients see of them;
- `hub`: the subscribers in memory, the fan-out, and the access checks made before every delivery;
- `consumer`: the process's one AMQP consumer (aio-pika) feeding the hub;
- `app`: `create_stream_app(...)`, the ASGI app; `docs`: the routes in the gateway's OpenAPI document;
- `handoff`: on one machine (`make run`, the tests), gateway workers pass stream connections to this
  process, so both answer on the same address without a proxy;
- `__main__`: the composition root.
"""
