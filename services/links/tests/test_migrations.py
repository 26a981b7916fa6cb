"""Revision 0004: outbox rows written before the event envelope, not yet published, get one naming the link's firm."""
from __future__ import annotations

import json
import uuid
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, text

from shared.events import EnvelopeSchema
from shared.migrations import ensure_database

SERVICE_DIR = Path(__file__).parents[1]


def test_a_pending_links_event_gets_the_envelope_with_the_links_firm_and_account(porta_env):
    url = porta_env["PORTA_DB_URL_TEMPLATE"].format(service="links_envelopes")
    ensure_database(url)
    config = Config(str(SERVICE_DIR / "alembic.ini"))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    command.upgrade(config, "0003")
    firm, account, row_id = str(uuid.uuid4()), str(uuid.uuid4()), uuid.uuid4()
    old = {"link": {"id": str(uuid.uuid4()), "firm_id": firm, "kind": "share",
                    "target": {"type": "account", "id": account}}, "reason": "revoked"}
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO outbox (id, event_type, payload, headers) VALUES (:id, 'link_revoked', "
                              "CAST(:payload AS jsonb), '{}')"), {"id": row_id, "payload": json.dumps(old)})
        command.upgrade(config, "head")
        with engine.connect() as conn:
            payload = conn.scalar(text("SELECT payload FROM outbox WHERE id = :id"), {"id": row_id})
    finally:
        engine.dispose()
    assert (payload["id"], payload["source"], payload["type"]) == (str(row_id), "links", "link_revoked")
    assert (payload["firm_id"], payload["account_id"], payload["data"]) == (firm, account, old)
    EnvelopeSchema().load(payload)  # what every consumer may rely on
