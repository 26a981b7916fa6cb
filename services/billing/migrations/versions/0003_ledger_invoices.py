"""invoices with items, numbers and statuses; payments; the append-only ledger; idempotency keys

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

STATUSES = "'draft', 'open', 'partially_paid', 'paid', 'void', 'partially_refunded', 'refunded'"


def upgrade() -> None:
    # -- invoices: numbers, due date, memo, the issued total, pay link, recipients, reminders
    op.add_column("invoices", sa.Column("number", sa.Integer(), nullable=True))
    op.add_column("invoices", sa.Column("due_date", sa.Date(), nullable=False, server_default=sa.text("CURRENT_DATE")))
    op.alter_column("invoices", "due_date", server_default=None)
    op.add_column("invoices", sa.Column("memo", sa.Text(), nullable=True))
    op.add_column("invoices", sa.Column("total", sa.BigInteger(), nullable=False, server_default="0"))
    op.alter_column("invoices", "total", server_default=None)
    op.add_column("invoices", sa.Column("link_id", sa.UUID(), nullable=True))
    op.add_column("invoices", sa.Column("billed_to", sa.String(length=300), nullable=True))
    op.add_column("invoices", sa.Column("recipients", postgresql.JSONB(), nullable=False, server_default="[]"))
    op.alter_column("invoices", "recipients", server_default=None)
    op.add_column("invoices", sa.Column("next_reminder_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("invoices", sa.Column("reminder_count", sa.Integer(), nullable=False, server_default="0"))
    op.alter_column("invoices", "reminder_count", server_default=None)
    op.add_column("invoices", sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False,
                                        server_default=sa.text("now()")))
    op.add_column("invoices", sa.Column("issued_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("invoices", sa.Column("voided_at", sa.DateTime(timezone=True), nullable=True))
    op.drop_constraint("ck_invoices_status", "invoices", type_="check")
    op.create_check_constraint("ck_invoices_status", "invoices", f"status IN ({STATUSES})")
    op.create_unique_constraint("uq_invoices_firm_number", "invoices", ["firm_id", "number"])
    op.create_index("ix_invoices_reminder_due", "invoices", ["next_reminder_at"],
                    postgresql_where=sa.text("next_reminder_at IS NOT NULL"))

    # -- items: quantity × unit price (a draft's one-amount lines become quantity 1)
    op.add_column("invoice_lines", sa.Column("quantity", sa.Integer(), nullable=False, server_default="1"))
    op.alter_column("invoice_lines", "quantity", server_default=None)
    op.alter_column("invoice_lines", "amount", new_column_name="unit_price")

    op.create_table(
        "invoice_counters",
        sa.Column("firm_id", sa.UUID(), nullable=False),
        sa.Column("last_number", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("firm_id"),
    )
    op.create_table(
        "payments",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("firm_id", sa.UUID(), nullable=False),
        sa.Column("account_id", sa.UUID(), nullable=False),
        sa.Column("invoice_id", sa.UUID(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("method", sa.String(length=20), nullable=False),
        sa.Column("reference", sa.String(length=200), nullable=True),
        sa.Column("provider", sa.String(length=20), nullable=False),
        sa.Column("provider_ref", sa.String(length=255), nullable=True),
        sa.Column("payer", postgresql.JSONB(), nullable=True),
        sa.Column("created_by", sa.UUID(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("amount > 0", name="ck_payments_amount"),
        sa.CheckConstraint("method IN ('cash', 'check', 'bank_transfer', 'other', 'card')", name="ck_payments_method"),
        sa.CheckConstraint("provider IN ('offline', 'test', 'stripe')", name="ck_payments_provider"),
        sa.ForeignKeyConstraint(["invoice_id"], ["invoices.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("provider", "provider_ref", name="uq_payments_provider_ref"),
    )
    op.create_index("ix_payments_invoice", "payments", ["invoice_id", "created_at"])
    op.create_index("ix_payments_firm_account", "payments", ["firm_id", "account_id", "created_at"])
    op.create_table(
        "ledger_entries",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("sequence", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("firm_id", sa.UUID(), nullable=False),
        sa.Column("account_id", sa.UUID(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("invoice_id", sa.UUID(), nullable=True),
        sa.Column("payment_id", sa.UUID(), nullable=True),
        sa.Column("memo", sa.String(length=500), nullable=True),
        sa.Column("created_by", sa.UUID(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("amount > 0", name="ck_ledger_entries_amount"),
        sa.CheckConstraint("kind IN ('charge', 'payment', 'credit', 'credit_applied', 'refund', 'void')",
                           name="ck_ledger_entries_kind"),
        sa.ForeignKeyConstraint(["invoice_id"], ["invoices.id"]),
        sa.ForeignKeyConstraint(["payment_id"], ["payments.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("sequence"),
    )
    op.create_index("ix_ledger_entries_account", "ledger_entries", ["firm_id", "account_id", "sequence"])
    op.create_index("ix_ledger_entries_invoice", "ledger_entries", ["invoice_id"])
    op.create_index("ix_ledger_entries_payment", "ledger_entries", ["payment_id"])
    # The ledger is append-only: the database itself refuses to change or remove an entry, whoever asks.
    op.execute("""
        CREATE FUNCTION ledger_entries_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'ledger entries are immutable: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
        END $$
    """)
    op.execute("""
        CREATE TRIGGER ledger_entries_immutable BEFORE UPDATE OR DELETE ON ledger_entries
        FOR EACH ROW EXECUTE FUNCTION ledger_entries_refuse_change()
    """)
    op.execute("""
        CREATE TRIGGER ledger_entries_no_truncate BEFORE TRUNCATE ON ledger_entries
        FOR EACH STATEMENT EXECUTE FUNCTION ledger_entries_refuse_change()
    """)
    op.create_table(
        "idempotency_keys",
        sa.Column("firm_id", sa.UUID(), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("response", postgresql.JSONB(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("firm_id", "key"),
    )


def downgrade() -> None:
    op.drop_table("idempotency_keys")
    op.execute("DROP TABLE ledger_entries")  # the triggers go with it (TRUNCATE would be refused)
    op.execute("DROP FUNCTION ledger_entries_refuse_change()")
    op.drop_table("payments")
    op.drop_table("invoice_counters")
    op.alter_column("invoice_lines", "unit_price", new_column_name="amount")
    op.drop_column("invoice_lines", "quantity")
    op.drop_index("ix_invoices_reminder_due", table_name="invoices")
    op.drop_constraint("uq_invoices_firm_number", "invoices", type_="unique")
    op.drop_constraint("ck_invoices_status", "invoices", type_="check")
    op.execute("DELETE FROM invoices WHERE status <> 'draft'")
    op.create_check_constraint("ck_invoices_status", "invoices", "status IN ('draft')")
    for column in ("voided_at", "issued_at", "updated_at", "reminder_count", "next_reminder_at", "recipients",
                   "billed_to", "link_id", "total", "memo", "due_date", "number"):
        op.drop_column("invoices", column)
