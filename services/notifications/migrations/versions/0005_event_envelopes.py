"""outbox rows not yet published get the event envelope

Revision ID: 0005
Revises: 0004
"""
from shared.migrations import wrap_pending_events

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The service emits no events today; this keeps any row an older version left in the same shape.
    wrap_pending_events("notifications")


def downgrade() -> None:
    pass
