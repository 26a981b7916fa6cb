"""payment providers: each firm's choice and sealed keys; Stripe Checkout Sessions awaiting their webhook

Revision ID: 0004
Revises: 0003
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "payment_settings",
        sa.Column("firm_id", sa.UUID(), nullable=False),
        sa.Column("provider", sa.String(length=20), nullable=False),
        sa.Column("stripe_secret_key", sa.Text(), nullable=True),
        sa.Column("stripe_webhook_secret", sa.Text(), nullable=True),
        sa.Column("updated_by", sa.UUID(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("provider IN ('test', 'stripe')", name="ck_payment_settings_provider"),
        sa.PrimaryKeyConstraint("firm_id"),
    )
    op.create_table(
        "checkout_sessions",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("firm_id", sa.UUID(), nullable=False),
        sa.Column("account_id", sa.UUID(), nullable=False),
        sa.Column("invoice_id", sa.UUID(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("provider", sa.String(length=20), nullable=False),
        sa.Column("session_id", sa.String(length=255), nullable=False),
        sa.Column("checkout_url", sa.Text(), nullable=False),
        sa.Column("payer", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("event_id", sa.String(length=255), nullable=True),
        sa.Column("payment_id", sa.UUID(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("amount > 0", name="ck_checkout_sessions_amount"),
        sa.CheckConstraint("status IN ('open', 'completed')", name="ck_checkout_sessions_status"),
        sa.ForeignKeyConstraint(["invoice_id"], ["invoices.id"]),
        sa.ForeignKeyConstraint(["payment_id"], ["payments.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("provider", "session_id", name="uq_checkout_sessions_session"),
        sa.UniqueConstraint("event_id", name="uq_checkout_sessions_event"),
    )


def downgrade() -> None:
    op.drop_table("checkout_sessions")
    op.drop_table("payment_settings")
