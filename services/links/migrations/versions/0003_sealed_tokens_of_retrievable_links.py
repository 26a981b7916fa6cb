"""sealed tokens of retrievable links

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 16:06:42.395841

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Upgrade schema."""
    # Nullable, no default: links issued before keep only their hash and stay non-retrievable.
    op.add_column('links', sa.Column('sealed_token', sa.Text(), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_column('links', 'sealed_token')
