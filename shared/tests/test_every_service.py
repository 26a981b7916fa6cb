"""Every service, even one with nothing to do yet, starts, migrates its own database and answers health."""
from __future__ import annotations

import importlib

import pytest
from nameko.standalone.rpc import ServiceRpcProxy
from sqlalchemy import create_engine, inspect

from shared.config import SERVICES


@pytest.mark.parametrize("service", SERVICES)
def test_service_answers_health_from_its_own_database(service, container_factory, nameko_config, service_config,
                                                      migrated):
    url = migrated(service)
    tables = inspect(create_engine(url)).get_table_names()
    assert {"outbox", "handled_messages", "alembic_version"} <= set(tables)
    module = importlib.import_module(f"{service}.service")
    service_class = getattr(module, f"{service.capitalize()}Service")
    container_factory(service_class, service_config(service, db_url=url)).start()
    with ServiceRpcProxy(service, nameko_config, timeout=10) as proxy:
        assert proxy.health() == {"service": service, "status": "ok"}
