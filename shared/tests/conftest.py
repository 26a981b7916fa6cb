"""Fixtures of the shared tests that run real services: scratch databases with a test's own tables."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import MetaData, create_engine
from sqlalchemy.engine import Engine

from shared.migrations import ensure_database


@pytest.fixture(scope="session")
def scratch_database(db_url: Callable[[str], str]) -> Callable[[str, MetaData], str]:
    """`scratch_database("name", metadata)`: the URL of a database of this run holding exactly
    `metadata`'s tables, made once per name."""
    made: dict[str, str] = {}

    def make(name: str, metadata: MetaData) -> str:
        if name not in made:
            url = db_url(name)
            ensure_database(url)
            engine = create_engine(url)
            metadata.drop_all(engine)
            metadata.create_all(engine)
            engine.dispose()
            made[name] = url
        return made[name]

    return make


@pytest.fixture
def scratch_engine(scratch_database: Callable[[str, MetaData], str]) -> Iterator[Callable[[str, MetaData], Engine]]:
    """`scratch_engine("name", metadata)`: an engine on that scratch database, its tables emptied first."""
    engines: list[Any] = []

    def make(name: str, metadata: MetaData) -> Engine:
        engine = create_engine(scratch_database(name, metadata))
        with engine.begin() as conn:
            for table in reversed(metadata.sorted_tables):
                conn.execute(table.delete())
        engines.append(engine)
        return engine

    yield make
    for engine in engines:
        engine.dispose()
