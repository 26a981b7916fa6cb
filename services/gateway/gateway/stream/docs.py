"""The stream routes in the gateway's OpenAPI document (`/openapi.json` is built from the WSGI app's
routes() table plus these): described by the same `@operation`s as every route, their 200 answer being
an event stream rather than JSON. The WSGI app never serves them (docs/realtime.md)."""
from __future__ import annotations

from typing import Any

from gateway.openapi import openapi_path
from gateway.stream.app import stream_routes


def documented_routes() -> list[tuple[str, Any]]:
    """(template, resource) of every stream route, for `build_spec` (resources without a hub: never served)."""
    return stream_routes()


def as_event_streams(spec: dict[str, Any]) -> dict[str, Any]:
    """`spec` with each stream operation's 200 answer as `text/event-stream`; returns `spec`."""
    for template, _ in documented_routes():
        for operation in spec["paths"].get(openapi_path(template)[0], {}).values():
            ok = operation["responses"]["200"]
            ok["description"] = "The stream: `event:`/`id:`/`data:` blocks, the first one `ready`"
            ok["content"] = {"text/event-stream": {"schema": {"type": "string"}}}
    return spec
