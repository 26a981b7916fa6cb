"""client requests: questionnaires, the documents uploaded for their file questions, uploads in flight

Revision ID: 0005_client_requests
Revises: 0005_shares
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005_client_requests"
down_revision = "0005_shares"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "client_requests",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("firm_id", sa.UUID(), nullable=False),
        sa.Column("account_id", sa.UUID(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("questions", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("answers", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("login_required", sa.Boolean(), nullable=False),
        sa.Column("link_id", sa.UUID(), nullable=True),
        sa.Column("recipients", sa.ARRAY(sa.String(length=254)), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.UUID(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("submitted_by", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("canceled_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('sent', 'submitted', 'canceled')", name="ck_client_requests_status"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("firm_id", "id", name="uq_client_requests_firm_id"),
    )
    op.create_index("ix_client_requests_firm_account_created", "client_requests",
                    ["firm_id", "account_id", "created_at"], unique=False)
    op.create_table(
        "client_request_documents",
        sa.Column("document_id", sa.UUID(), nullable=False),
        sa.Column("firm_id", sa.UUID(), nullable=False),
        sa.Column("client_request_id", sa.UUID(), nullable=False),
        sa.Column("question_id", sa.String(length=40), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["firm_id", "client_request_id"], ["client_requests.firm_id", "client_requests.id"],
                                name="fk_client_request_documents_request", ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["firm_id", "document_id"], ["documents.firm_id", "documents.id"],
                                name="fk_client_request_documents_document", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("document_id"),
    )
    op.create_index("ix_client_request_documents_request", "client_request_documents",
                    ["client_request_id", "question_id"], unique=False)
    op.create_table(
        "client_request_uploads",
        sa.Column("upload_id", sa.UUID(), nullable=False),
        sa.Column("firm_id", sa.UUID(), nullable=False),
        sa.Column("client_request_id", sa.UUID(), nullable=False),
        sa.Column("question_id", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(["firm_id", "upload_id"], ["uploads.firm_id", "uploads.id"],
                                name="fk_client_request_uploads_upload", ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["firm_id", "client_request_id"], ["client_requests.firm_id", "client_requests.id"],
                                name="fk_client_request_uploads_request", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("upload_id"),
    )


def downgrade() -> None:
    op.drop_table("client_request_uploads")
    op.drop_index("ix_client_request_documents_request", table_name="client_request_documents")
    op.drop_table("client_request_documents")
    op.drop_index("ix_client_requests_firm_account_created", table_name="client_requests")
    op.drop_table("client_requests")
