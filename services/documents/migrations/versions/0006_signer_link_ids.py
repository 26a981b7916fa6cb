"""each signer's signing link id (links kind `signature`, retrievable: the answers show its url)

Revision ID: 0006_signer_link_ids
Revises: 0005_signatures
"""
import sqlalchemy as sa
from alembic import op

revision = "0006_signer_link_ids"
down_revision = "0005_signatures"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable: signers asked before this keep links issued by notifications, which nothing can show again.
    op.add_column("signers", sa.Column("link_id", sa.UUID(), nullable=True))


def downgrade() -> None:
    op.drop_column("signers", "link_id")
