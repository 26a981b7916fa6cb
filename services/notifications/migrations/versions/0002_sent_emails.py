"""sent emails

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 13:06:10.835586

"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('sent_emails',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('firm_id', sa.UUID(), nullable=False),
    sa.Column('template', sa.String(length=100), nullable=False),
    sa.Column('recipient', sa.String(length=254), nullable=False),
    sa.Column('subject', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('pending_context', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('message_id', sa.String(length=250), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('queued', 'sent', 'failed')", name='ck_sent_emails_status'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_sent_emails_due', 'sent_emails', ['next_attempt_at'], unique=False,
                    postgresql_where=sa.text("status = 'queued'"))
    op.create_index('ix_sent_emails_firm_created', 'sent_emails', ['firm_id', 'created_at', 'id'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index('ix_sent_emails_firm_created', table_name='sent_emails')
    op.drop_index('ix_sent_emails_due', table_name='sent_emails', postgresql_where=sa.text("status = 'queued'"))
    op.drop_table('sent_emails')
