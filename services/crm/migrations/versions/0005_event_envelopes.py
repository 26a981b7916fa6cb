"""outbox rows not yet published get the event envelope

Revision ID: 0005
Revises: 0004
"""
from alembic import op
from sqlalchemy import text

from shared.migrations import wrap_pending_events

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    wrap_pending_events("crm")
    # Where wrap_pending_events does not look: signup and invitation acceptance carry no principal,
    # so their firm and actor are in the data; an account's or a job's event names its account inside.
    # A top-level firm_id leaves the data, as the declared schemas (shared.contracts.crm) say.
    op.get_bind().execute(text("""
        UPDATE outbox SET payload = payload
            || jsonb_build_object('firm_id', COALESCE(payload->>'firm_id', payload->'data'->'firm'->>'id',
                                                      payload->'data'->'user'->>'firm_id',
                                                      payload->'data'->'member'->>'firm_id'))
            || jsonb_build_object('account_id', COALESCE(payload->>'account_id', payload->'data'->'account'->>'id',
                                                         payload->'data'->'job'->>'account_id'))
            || jsonb_build_object('actor', CASE
                   WHEN jsonb_typeof(payload->'actor') = 'object' THEN payload->'actor'
                   WHEN event_type = 'firm_created' THEN jsonb_build_object(
                       'id', payload->'data'->'owner'->>'id', 'kind', 'staff')
                   WHEN event_type = 'user_activated' THEN jsonb_build_object(
                       'id', payload->'data'->'user'->>'id', 'kind', payload->'data'->'user'->>'kind')
                   END)
            || jsonb_build_object('data', (payload->'data') - 'firm_id')
        WHERE published_at IS NULL AND payload ? 'source' AND payload ? 'data'
    """))


def downgrade() -> None:
    pass
