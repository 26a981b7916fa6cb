"""links and failed attempts

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 13:10:35.842302

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
    op.create_table('links',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('firm_id', sa.UUID(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('target', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('single_use', sa.Boolean(), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("kind IN ('invitation', 'file_request', 'share', 'signature', 'payment', 'client_request')",
                       name='ck_links_kind'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash')
    )
    op.create_index('ix_links_firm_target', 'links', ['firm_id', 'target', 'kind'], unique=False)
    op.create_table('failed_attempts',
    sa.Column('address', sa.String(length=64), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('last_failure_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('address')
    )
    op.create_index('ix_failed_attempts_last_failure', 'failed_attempts', ['last_failure_at'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index('ix_failed_attempts_last_failure', table_name='failed_attempts')
    op.drop_table('failed_attempts')
    op.drop_index('ix_links_firm_target', table_name='links')
    op.drop_table('links')
