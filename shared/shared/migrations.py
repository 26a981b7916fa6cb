"""Create a service's database if it is missing and migrate it to head with Alembic.

    python -m shared.migrations services/crm        # one service
    python -m shared.migrations services/*           # every service that has alembic.ini
"""
from __future__ import annotations

import sys
from pathlib import Path

from sqlalchemy import MetaData, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ProgrammingError

from shared.config import load_settings


def ensure_database(url: str) -> bool:
    """Create the database named in `url` when it does not exist; True if it was created."""
    target = make_url(url)
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": target.database}).first()
            if exists:
                return False
            try:
                conn.exec_driver_sql(f'CREATE DATABASE "{target.database}"')
            except ProgrammingError as exc:
                # Another instance starting at the same moment created it first.
                if getattr(exc.orig, "pgcode", None) == "42P04":
                    return False
                raise
            return True
    finally:
        admin.dispose()


def drop_database(url: str) -> None:
    target = make_url(url)
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)')
    finally:
        admin.dispose()


def upgrade(service_dir: str | Path) -> str:
    """Migrate one service (a folder with alembic.ini) to head; returns its database URL."""
    from alembic import command
    from alembic.config import Config

    service_dir = Path(service_dir)
    url = load_settings().db_url(service_dir.name)
    ensure_database(url)
    config = Config(str(service_dir / "alembic.ini"))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    # Instances of a service may start together (several pods): one migrates, the others wait.
    engine = create_engine(url)
    try:
        with engine.connect() as lock:
            lock.execute(text("SELECT pg_advisory_lock(hashtext('porta-migrations'))"))
            try:
                command.upgrade(config, "heads")  # branches added side by side (merged later) all apply
            finally:
                lock.execute(text("SELECT pg_advisory_unlock(hashtext('porta-migrations'))"))
    finally:
        engine.dispose()
    return url


def run_env(metadata: MetaData) -> None:
    """The body of every service's migrations/env.py: online migrations of its own metadata."""
    from alembic import context

    config = context.config
    service = Path(config.config_file_name).resolve().parent.name
    url = config.get_main_option("sqlalchemy.url") or load_settings().db_url(service)
    engine = create_engine(url)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=metadata, compare_type=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


def main(argv: list[str]) -> int:
    dirs = [Path(a) for a in argv if (Path(a) / "alembic.ini").exists()]
    if not dirs:
        print("usage: python -m shared.migrations services/<name> [...]", file=sys.stderr)
        return 2
    for d in dirs:
        print(f"migrated {d.name}: {make_url(upgrade(d)).render_as_string(hide_password=True)}")
    return 0



def create_messaging_tables() -> None:
    """Alembic op for a service's first revision: the outbox and handled_messages tables."""
    from alembic import op

    from shared.outbox import messaging_tables

    bind = op.get_bind()
    metadata = MetaData()
    for table in messaging_tables(metadata):
        table.create(bind)


def wrap_pending_events(source: str) -> None:
    """Alembic op: outbox rows written before events had an envelope (shared.events) and not yet
    published get one, so the relay sends every consumer the same shape. Published rows are history."""
    from alembic import op

    op.get_bind().execute(text("""
        UPDATE outbox SET payload = jsonb_build_object(
            'id', id::text, 'type', event_type, 'source', CAST(:source AS text),
            'firm_id', COALESCE(payload->>'firm_id', headers->>'nameko.firm_id'),
            'account_id', payload->>'account_id',
            'occurred_at', to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"'),
            'actor', CASE WHEN headers ? 'nameko.user_id' THEN jsonb_build_object(
                'id', headers->>'nameko.user_id', 'kind', COALESCE(headers->>'nameko.user_kind', 'staff')) END,
            'request_id', headers->>'nameko.request_id',
            'data', payload)
        WHERE published_at IS NULL AND NOT (payload ? 'source' AND payload ? 'data')
    """), {"source": source})


def drop_messaging_tables() -> None:
    from alembic import op

    op.drop_table("outbox")
    op.drop_table("handled_messages")


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
