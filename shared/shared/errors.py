"""The domain errors every service raises and the gateway maps to API.md's error shape.

They cross nameko RPC by dotted path (`shared.errors.NotFound`), so their constructor
arguments must stay JSON-serialisable: `(description, errors)`.
"""
from __future__ import annotations

from typing import Any

from nameko.exceptions import registry as nameko_exception_registry


class PortaError(Exception):
    status: int = 400
    title: str = "Bad request"

    def __init__(self, description: str = "", errors: dict[str, Any] | None = None) -> None:
        super().__init__(description, errors)
        self.description = description or self.title
        self.errors = errors

    def __str__(self) -> str:
        return self.description


class BadRequest(PortaError):
    status, title = 400, "Bad request"


class Unauthorized(PortaError):
    status, title = 401, "Unauthorized"


class PaymentDeclined(PortaError):
    """The payment provider refused the card (402): nothing was charged and nothing recorded."""

    status, title = 402, "Payment declined"


class Forbidden(PortaError):
    status, title = 403, "Forbidden"


class NotFound(PortaError):
    status, title = 404, "Not found"


class Conflict(PortaError):
    status, title = 409, "Conflict"


class Gone(PortaError):
    status, title = 410, "Gone"


class PayloadTooLarge(PortaError):
    status, title = 413, "Payload too large"


class UnsupportedMediaType(PortaError):
    status, title = 415, "Unsupported media type"


class ValidationFailed(PortaError):
    status, title = 422, "Validation failed"


class Throttled(PortaError):
    """A 429 that says how long to wait: `errors` carries `{"retry_after": [seconds]}` across RPC (the
    serialised form has only the description and the errors), and the gateway sends it as Retry-After."""

    status, title = 429, "Too many requests"

    def __init__(self, description: str = "", errors: dict[str, Any] | None = None, *,
                 retry_after: int | None = None) -> None:
        if retry_after is not None:
            errors = {**(errors or {}), "retry_after": [max(1, int(retry_after))]}
        super().__init__(description, errors)

    @property
    def retry_after(self) -> int:
        """Whole seconds to wait (at least 1)."""
        value = (self.errors or {}).get("retry_after")
        try:
            return max(1, int(value[0] if isinstance(value, list) else value))
        except (TypeError, ValueError, IndexError):
            return 1


class UpstreamError(PortaError):
    """A service failed in a way it did not name; the gateway answers 502, never 500."""

    status, title = 502, "Bad gateway"


class ServiceUnavailable(PortaError):
    status, title = 503, "Service unavailable"


class ServiceTimeout(PortaError):
    status, title = 504, "Gateway timeout"


def error_from_remote(exc_path: str | None, exc_args: Any) -> PortaError:
    """Rebuild a domain error from nameko's serialised form; anything unknown is an UpstreamError."""
    cls = _BY_PATH.get(exc_path or "")
    args = list(exc_args) if isinstance(exc_args, (list, tuple)) else []
    if cls is None:
        return UpstreamError("A service failed to answer this request.")
    description = args[0] if args and isinstance(args[0], str) else ""
    errors = args[1] if len(args) > 1 and isinstance(args[1], dict) else None
    return cls(description, errors)


_BY_PATH: dict[str, type[PortaError]] = {
    f"{cls.__module__}.{cls.__name__}": cls
    for cls in (
        PortaError, BadRequest, Unauthorized, PaymentDeclined, Forbidden, NotFound, Conflict, Gone, PayloadTooLarge,
        UnsupportedMediaType, ValidationFailed, Throttled, UpstreamError, ServiceUnavailable, ServiceTimeout,
    )
}

# Service-to-service calls (nameko's RpcProxy) re-raise these as themselves, not as RemoteError,
# so a NotFound or Gone raised two services away still reaches the gateway as what it is.
nameko_exception_registry.update(_BY_PATH)
