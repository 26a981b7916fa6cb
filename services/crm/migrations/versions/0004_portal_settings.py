"""portal settings

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 13:22:30.076034

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('portal_settings',
    sa.Column('firm_id', sa.UUID(), nullable=False),
    sa.Column('prepayment', sa.Boolean(), nullable=False),
    sa.Column('done_uploading', sa.Boolean(), nullable=False),
    sa.Column('auto_rename', sa.Boolean(), nullable=False),
    sa.Column('appointments', sa.Boolean(), nullable=False),
    sa.Column('announcement', sa.Boolean(), nullable=False),
    sa.Column('clients_create_chats', sa.Boolean(), nullable=False),
    sa.Column('client_organizers', sa.Boolean(), nullable=False),
    sa.Column('work_in_progress', sa.Boolean(), nullable=False),
    sa.Column('announcement_text', sa.String(length=2000), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['firm_id'], ['firms.id'], name='fk_portal_settings_firm'),
    sa.PrimaryKeyConstraint('firm_id')
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table('portal_settings')
