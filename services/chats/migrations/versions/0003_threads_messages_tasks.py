"""threads' messages, attached documents, client tasks, reminders, jobs; chat templates

Revision ID: 0003
Revises: 0002
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    add = op.add_column
    add("threads", sa.Column("created_by_kind", sa.String(10), server_default="staff", nullable=False))
    add("threads", sa.Column("created_by_name", sa.String(200), server_default="", nullable=False))
    add("threads", sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True))
    add("threads", sa.Column("job_ids", postgresql.ARRAY(sa.UUID()), server_default="{}", nullable=False))
    add("threads", sa.Column("last_message_at", sa.DateTime(timezone=True), nullable=True))
    add("threads", sa.Column("last_message_id", sa.UUID(), nullable=True))
    add("threads", sa.Column("last_message_by", sa.String(10), nullable=True))
    add("threads", sa.Column("reminders_enabled", sa.Boolean(), server_default="false", nullable=False))
    add("threads", sa.Column("reminder_days", sa.Integer(), server_default="3", nullable=False))
    add("threads", sa.Column("reminder_count", sa.Integer(), server_default="1", nullable=False))
    add("threads", sa.Column("reminders_sent", sa.Integer(), server_default="0", nullable=False))
    add("threads", sa.Column("reminder_next_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_threads_reminder_due", "threads", ["reminder_next_at"],
                    postgresql_where=sa.text("reminder_next_at IS NOT NULL"))

    op.create_table(
        "messages",
        sa.Column("id", sa.UUID(), primary_key=True),
        sa.Column("thread_id", sa.UUID(), sa.ForeignKey("threads.id", ondelete="CASCADE"), nullable=False),
        sa.Column("firm_id", sa.UUID(), nullable=False),
        sa.Column("account_id", sa.UUID(), nullable=False),
        sa.Column("author_kind", sa.String(10), nullable=False),
        sa.Column("author_id", sa.UUID(), nullable=False),
        sa.Column("author_name", sa.String(200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("body_html", sa.Text(), nullable=False),
        sa.Column("mentions", postgresql.JSONB(), server_default="[]", nullable=False),
        sa.Column("document_ids", postgresql.ARRAY(sa.UUID()), server_default="{}", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_messages_thread", "messages", ["thread_id", "created_at"])

    op.create_table(
        "thread_documents",
        sa.Column("id", sa.UUID(), primary_key=True),
        sa.Column("thread_id", sa.UUID(), sa.ForeignKey("threads.id", ondelete="CASCADE"), nullable=False),
        sa.Column("message_id", sa.UUID(), sa.ForeignKey("messages.id", ondelete="CASCADE"), nullable=False),
        sa.Column("firm_id", sa.UUID(), nullable=False),
        sa.Column("document_id", sa.UUID(), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("content_type", sa.String(255), nullable=False),
        sa.Column("author_kind", sa.String(10), nullable=False),
        sa.Column("author_id", sa.UUID(), nullable=False),
        sa.Column("author_name", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_thread_documents_thread", "thread_documents", ["thread_id", "created_at"])
    op.create_index("ix_thread_documents_document", "thread_documents", ["document_id"])

    op.create_table(
        "tasks",
        sa.Column("id", sa.UUID(), primary_key=True),
        sa.Column("thread_id", sa.UUID(), sa.ForeignKey("threads.id", ondelete="CASCADE"), nullable=False),
        sa.Column("firm_id", sa.UUID(), nullable=False),
        sa.Column("account_id", sa.UUID(), nullable=False),
        sa.Column("title", sa.String(500), nullable=False),
        sa.Column("done", sa.Boolean(), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("done_by", sa.UUID(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_tasks_thread", "tasks", ["thread_id", "created_at"])
    op.create_index("ix_tasks_firm", "tasks", ["firm_id", "created_at"])

    op.create_table(
        "chat_templates",
        sa.Column("id", sa.UUID(), primary_key=True),
        sa.Column("firm_id", sa.UUID(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("tasks", postgresql.JSONB(), nullable=False),
        sa.Column("reminders", postgresql.JSONB(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_chat_templates_firm", "chat_templates", ["firm_id", "created_at"])


def downgrade() -> None:
    op.drop_table("chat_templates")
    op.drop_table("tasks")
    op.drop_table("thread_documents")
    op.drop_table("messages")
    op.drop_index("ix_threads_reminder_due", table_name="threads")
    for column in ("reminder_next_at", "reminders_sent", "reminder_count", "reminder_days", "reminders_enabled",
                   "last_message_by", "last_message_id", "last_message_at", "job_ids", "archived_at",
                   "created_by_name", "created_by_kind"):
        op.drop_column("threads", column)
