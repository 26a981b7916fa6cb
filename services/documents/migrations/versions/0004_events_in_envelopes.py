"""outbox rows not yet published get the event envelope

Revision ID: 0004
Revises: 0003
"""
from shared.migrations import wrap_pending_events

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    wrap_pending_events("documents")


def downgrade() -> None:
    pass  # an envelope is what every consumer reads now; the old shape is not made again
