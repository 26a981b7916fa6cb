"""inbox items, suppressed emails

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 16:02:00.576109

"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('inbox_items',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('firm_id', sa.UUID(), nullable=False),
    sa.Column('user_id', sa.UUID(), nullable=False),
    sa.Column('account_id', sa.UUID(), nullable=True),
    sa.Column('subject_type', sa.String(length=50), nullable=False),
    sa.Column('subject_id', sa.UUID(), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('body', sa.String(length=1000), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('event_count', sa.Integer(), nullable=False),
    sa.Column('data', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('unread', sa.Boolean(), nullable=False),
    sa.Column('read_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('user_id', 'subject_type', 'subject_id', name='uq_inbox_items_recipient_subject')
    )
    op.create_index('ix_inbox_items_recipient_updated', 'inbox_items', ['firm_id', 'user_id', 'updated_at', 'id'],
                    unique=False)
    op.add_column('sent_emails', sa.Column('reason', sa.String(length=100), nullable=True))
    # Autogenerate does not compare check constraints: the new status, by hand.
    op.drop_constraint('ck_sent_emails_status', 'sent_emails', type_='check')
    op.create_check_constraint('ck_sent_emails_status', 'sent_emails',
                               "status IN ('queued', 'sent', 'failed', 'suppressed')")


def downgrade() -> None:
    """Downgrade schema."""
    op.execute("DELETE FROM sent_emails WHERE status = 'suppressed'")
    op.drop_constraint('ck_sent_emails_status', 'sent_emails', type_='check')
    op.create_check_constraint('ck_sent_emails_status', 'sent_emails', "status IN ('queued', 'sent', 'failed')")
    op.drop_column('sent_emails', 'reason')
    op.drop_index('ix_inbox_items_recipient_updated', table_name='inbox_items')
    op.drop_table('inbox_items')
