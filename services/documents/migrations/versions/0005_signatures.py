"""signature requests and their signers (documents/signatures.py)

Revision ID: 0005_signatures
Revises: 0005_client_requests
"""
import sqlalchemy as sa
from alembic import op

revision = "0005_signatures"
down_revision = "0005_client_requests"
branch_labels = None
depends_on = None


def _times(*names: str) -> list[sa.Column]:
    return [sa.Column(name, sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False)
            for name in names]


def upgrade() -> None:
    op.create_table(
        "signature_requests",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("firm_id", sa.UUID(), nullable=False),
        sa.Column("account_id", sa.UUID(), nullable=False),
        sa.Column("document_id", sa.UUID(), nullable=False),
        sa.Column("document_name", sa.String(length=255), nullable=False),
        sa.Column("original_sha256", sa.String(length=64), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("reminders", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("signed_document_id", sa.UUID(), nullable=True),
        sa.Column("created_by", sa.UUID(), nullable=True),
        *_times("created_at", "updated_at"),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sealed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("canceled_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('pending', 'signed', 'declined', 'canceled')",
                           name="ck_signature_requests_status"),
        sa.ForeignKeyConstraint(["firm_id", "document_id"], ["documents.firm_id", "documents.id"],
                                name="fk_signature_requests_document", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("firm_id", "id", name="uq_signature_requests_firm_id"),
    )
    op.create_index("ix_signature_requests_firm_account_created", "signature_requests",
                    ["firm_id", "account_id", "created_at"])
    op.create_index("uq_signature_requests_signed_document", "signature_requests", ["signed_document_id"],
                    unique=True, postgresql_where=sa.text("signed_document_id IS NOT NULL"))
    op.create_table(
        "signers",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("firm_id", sa.UUID(), nullable=False),
        sa.Column("signature_request_id", sa.UUID(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_reminder_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reminders_sent", sa.Integer(), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("signed_name", sa.String(length=200), nullable=True),
        sa.Column("signed_address", sa.String(length=64), nullable=True),
        sa.Column("signed_user_agent", sa.String(length=1000), nullable=True),
        sa.Column("signed_through", sa.String(length=10), nullable=True),
        sa.Column("signed_by", sa.UUID(), nullable=True),
        sa.Column("declined_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decline_reason", sa.Text(), nullable=True),
        *_times("created_at", "updated_at"),
        sa.CheckConstraint("status IN ('pending', 'signed', 'declined')", name="ck_signers_status"),
        sa.CheckConstraint("(status = 'signed') = (signed_at IS NOT NULL)", name="ck_signers_signed"),
        sa.ForeignKeyConstraint(["firm_id", "signature_request_id"],
                                ["signature_requests.firm_id", "signature_requests.id"],
                                name="fk_signers_request", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("firm_id", "id", name="uq_signers_firm_id"),
        sa.UniqueConstraint("signature_request_id", "email", name="uq_signers_request_email"),
    )
    op.create_index("ix_signers_firm_email", "signers", ["firm_id", "email"])
    op.create_index("ix_signers_next_reminder", "signers", ["next_reminder_at"],
                    postgresql_where=sa.text("next_reminder_at IS NOT NULL"))


def downgrade() -> None:
    op.drop_table("signers")
    op.drop_table("signature_requests")
