"""shares (one row per recipient, each with his own link and expiry) and approval requests (one row per approver)

Revision ID: 0005_shares
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op

revision = "0005_shares"
down_revision = "0004"
branch_labels = None
depends_on = None

STATUSES = "'pending', 'approved', 'disapproved'"


def _times(*names: str) -> list[sa.Column]:
    return [sa.Column(name, sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False)
            for name in names]


def upgrade() -> None:
    op.create_table(
        "shares",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("firm_id", sa.UUID(), nullable=False),
        sa.Column("account_id", sa.UUID(), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("created_by", sa.UUID(), nullable=True),
        *_times("created_at", "updated_at"),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('active', 'revoked')", name="ck_shares_status"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("firm_id", "id", name="uq_shares_firm_id"),
    )
    op.create_index("ix_shares_firm_account_created", "shares", ["firm_id", "account_id", "created_at"])
    op.create_table(
        "share_documents",
        sa.Column("share_id", sa.UUID(), nullable=False),
        sa.Column("document_id", sa.UUID(), nullable=False),
        sa.Column("firm_id", sa.UUID(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["firm_id", "share_id"], ["shares.firm_id", "shares.id"],
                                name="fk_share_documents_share", ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["firm_id", "document_id"], ["documents.firm_id", "documents.id"],
                                name="fk_share_documents_document", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("share_id", "document_id"),
    )
    op.create_index("ix_share_documents_document", "share_documents", ["document_id"])
    op.create_table(
        "share_recipients",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("firm_id", sa.UUID(), nullable=False),
        sa.Column("share_id", sa.UUID(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("link_id", sa.UUID(), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("opens", sa.Integer(), nullable=False),
        sa.Column("downloads", sa.Integer(), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_opened_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_downloaded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        *_times("created_at", "updated_at"),
        sa.ForeignKeyConstraint(["firm_id", "share_id"], ["shares.firm_id", "shares.id"],
                                name="fk_share_recipients_share", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("firm_id", "id", name="uq_share_recipients_firm_id"),
        sa.UniqueConstraint("share_id", "email", name="uq_share_recipients_share_email"),
    )
    op.create_table(
        "approval_requests",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("firm_id", sa.UUID(), nullable=False),
        sa.Column("account_id", sa.UUID(), nullable=False),
        sa.Column("document_id", sa.UUID(), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("created_by", sa.UUID(), nullable=True),
        *_times("created_at", "updated_at"),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(f"status IN ({STATUSES})", name="ck_approval_requests_status"),
        sa.ForeignKeyConstraint(["firm_id", "document_id"], ["documents.firm_id", "documents.id"],
                                name="fk_approval_requests_document", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("firm_id", "id", name="uq_approval_requests_firm_id"),
    )
    op.create_index("ix_approval_requests_firm_account_created", "approval_requests",
                    ["firm_id", "account_id", "created_at"])
    op.create_index("ix_approval_requests_document", "approval_requests", ["document_id"])
    op.create_table(
        "approvers",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("firm_id", sa.UUID(), nullable=False),
        sa.Column("approval_request_id", sa.UUID(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("link_id", sa.UUID(), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_through", sa.String(length=10), nullable=True),
        sa.Column("decided_by", sa.UUID(), nullable=True),
        *_times("created_at"),
        sa.CheckConstraint(f"status IN ({STATUSES})", name="ck_approvers_status"),
        sa.CheckConstraint("decided_through IN ('link', 'portal')", name="ck_approvers_decided_through"),
        sa.CheckConstraint("(status = 'pending') = (decided_at IS NULL)", name="ck_approvers_decided"),
        sa.ForeignKeyConstraint(["firm_id", "approval_request_id"],
                                ["approval_requests.firm_id", "approval_requests.id"],
                                name="fk_approvers_request", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("firm_id", "id", name="uq_approvers_firm_id"),
        sa.UniqueConstraint("approval_request_id", "email", name="uq_approvers_request_email"),
    )
    op.create_index("ix_approvers_email", "approvers", ["firm_id", "email"])


def downgrade() -> None:
    op.drop_table("approvers")
    op.drop_table("approval_requests")
    op.drop_table("share_recipients")
    op.drop_table("share_documents")
    op.drop_table("shares")
