"""outbox rows not yet published get the event envelope

Revision ID: 0004
Revises: 0003
"""
from alembic import op
from sqlalchemy import text

from shared.migrations import wrap_pending_events

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_UUID = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"


def upgrade() -> None:
    wrap_pending_events("links")
    # A links event names its firm inside the link (and its account as the target), where
    # wrap_pending_events does not look: the envelope takes them from there.
    op.get_bind().execute(text("""
        UPDATE outbox SET payload = payload
            || jsonb_build_object('firm_id', payload->'data'->'link'->>'firm_id')
            || CASE WHEN payload->'data'->'link'->'target'->>'type' = 'account'
                         AND payload->'data'->'link'->'target'->>'id' ~ :uuid
                    THEN jsonb_build_object('account_id', payload->'data'->'link'->'target'->>'id')
                    ELSE '{}'::jsonb END
        WHERE published_at IS NULL AND payload->'data'->'link' ? 'firm_id'
    """), {"uuid": _UUID})


def downgrade() -> None:
    pass
