"""Migrations: every service's models match its migrations, and instances may migrate at once."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, text

from shared.migrations import upgrade

SERVICES = sorted(p.parent for p in (Path(__file__).parents[2] / "services").glob("*/alembic.ini"))


@pytest.mark.parametrize("service_dir", SERVICES, ids=lambda p: p.name)
def test_models_and_migrations_agree(service_dir, migrated):
    url = migrated(service_dir.name)
    config = Config(str(service_dir / "alembic.ini"))
    config.set_main_option("sqlalchemy.url", url)
    command.check(config)  # raises when autogenerate would produce operations


def test_instances_migrating_together_leave_one_schema(porta_env, db_url):
    billing = Path(__file__).parents[2] / "services" / "billing"
    with ThreadPoolExecutor(max_workers=3) as pool:
        urls = list(pool.map(lambda _: upgrade(billing), range(3)))
    engine = create_engine(urls[0])
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar_one() == 1
    engine.dispose()
