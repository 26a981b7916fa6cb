"""portal settings: chat_email_content

Revision ID: 0007
Revises: 0006
"""
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("portal_settings", sa.Column("chat_email_content", sa.Boolean(), server_default="false",
                                               nullable=False))


def downgrade() -> None:
    op.drop_column("portal_settings", "chat_email_content")
