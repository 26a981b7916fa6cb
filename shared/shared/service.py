"""What every Porta nameko service has: call context, settings, a health RPC that touches its database."""
from __future__ import annotations

from typing import Any

from shared.dependencies import CallContext, Config
from shared.rpc import rpc


class PortaService:
    """Base class: a service adds `name` and `db = Database(messaging_tables(Base.metadata))`."""

    name: str
    db: Any
    context = CallContext()
    settings = Config()

    @rpc
    def health(self) -> dict[str, Any]:
        """Answers when the process, the broker path and the service's own database work."""
        self.db.ping()
        return {"service": self.name, "status": "ok"}
