"""The wire contract of every service: RPC payload and result schemas, events, enums.

One module per service (`shared.contracts.crm`, ...), importing only marshmallow and `shared`.
The owning service validates and dumps with it; the gateway documents its HTTP API from it and
installs nothing of any service. A change here is a change to the published contract.
"""
from __future__ import annotations

import importlib
from types import ModuleType

from shared.config import SERVICES


def load_all() -> dict[str, ModuleType]:
    """Every service's contract module, imported (which declares its events)."""
    return {name: importlib.import_module(f"shared.contracts.{name}") for name in SERVICES}
