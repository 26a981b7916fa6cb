"""what a link's public page shows (`view`), and the firms' names, so one lookup answers the page

Revision ID: 0006
Revises: 0005
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable, no default: links issued before have no view, and the gateway asks their owning service.
    op.add_column("links", sa.Column("view", postgresql.JSONB(astext_type=sa.Text()), nullable=True))
    op.add_column("links", sa.Column("view_as_of", sa.DateTime(timezone=True), nullable=True))
    # Filled from crm's firm_created events from now on; a firm made before has no row (the gateway asks crm).
    op.create_table("firm_names",
                    sa.Column("firm_id", sa.UUID(), nullable=False),
                    sa.Column("name", sa.Text(), nullable=False),
                    sa.PrimaryKeyConstraint("firm_id"))


def downgrade() -> None:
    op.drop_table("firm_names")
    op.drop_column("links", "view_as_of")
    op.drop_column("links", "view")
