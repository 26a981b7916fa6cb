"""one address, logins in several firms; login throttling; session expiry; current invitations

Revision ID: 0006
Revises: 0005
"""
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # An address is unique within a firm only: a pending invitation elsewhere reserves nothing.
    op.drop_index("uq_users_email", table_name="users")
    op.create_index("uq_users_firm_email", "users", ["firm_id", sa.literal_column("lower(email)")], unique=True)
    op.create_index("ix_users_email", "users", [sa.literal_column("lower(email)")])
    op.add_column("users", sa.Column("invitations_valid_from", sa.DateTime(timezone=True), nullable=True))

    op.add_column("sessions", sa.Column("last_used_at", sa.DateTime(timezone=True), server_default=sa.func.now(),
                                        nullable=True))
    op.execute("UPDATE sessions SET last_used_at = created_at")
    op.alter_column("sessions", "last_used_at", nullable=False)

    op.create_table(
        "login_failures",
        sa.Column("key", sa.String(length=400), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_index("ix_login_failures_last_failure_at", "login_failures", ["last_failure_at"])
    op.create_table(
        "login_addresses",
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("address", sa.String(length=50), nullable=False),
        sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("email", "address"),
    )
    op.create_index("ix_login_addresses_last_login_at", "login_addresses", ["last_login_at"])


def downgrade() -> None:
    op.drop_index("ix_login_addresses_last_login_at", table_name="login_addresses")
    op.drop_table("login_addresses")
    op.drop_index("ix_login_failures_last_failure_at", table_name="login_failures")
    op.drop_table("login_failures")
    op.drop_column("sessions", "last_used_at")
    op.drop_column("users", "invitations_valid_from")
    op.drop_index("ix_users_email", table_name="users")
    op.drop_index("uq_users_firm_email", table_name="users")
    # Fails if one address now has logins in several firms: that cannot be undone without losing one.
    op.create_index("uq_users_email", "users", [sa.literal_column("lower(email)")], unique=True)
