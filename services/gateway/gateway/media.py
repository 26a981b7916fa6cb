"""JSON bodies with a size limit enforced while reading, so a chunked body cannot lie its way past it."""
from __future__ import annotations

from typing import Any

import falcon
from falcon.media import JSONHandler

from shared.errors import PayloadTooLarge


class LimitedJSONHandler(JSONHandler):
    def __init__(self, max_bytes: int) -> None:
        super().__init__()
        self.max_bytes = max_bytes

    def deserialize(self, stream: Any, content_type: str | None, content_length: int | None) -> Any:
        if content_length is not None and content_length > self.max_bytes:
            raise PayloadTooLarge(f"JSON bodies are limited to {self.max_bytes} bytes.")
        data = stream.read(self.max_bytes + 1)
        if len(data) > self.max_bytes:
            raise PayloadTooLarge(f"JSON bodies are limited to {self.max_bytes} bytes.")
        return self._deserialize(data)


def json_handlers(max_bytes: int) -> falcon.media.Handlers:
    handler = LimitedJSONHandler(max_bytes)
    return falcon.media.Handlers({falcon.MEDIA_JSON: handler})
