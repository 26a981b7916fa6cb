"""document scan status too_large

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 16:29:09.898391

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Upgrade schema."""
    # Autogenerate does not compare check constraints: the new status, by hand.
    op.drop_constraint('ck_documents_scan_status', 'documents', type_='check')
    op.create_check_constraint('ck_documents_scan_status', 'documents',
                               "scan_status IN ('not_scanned', 'pending', 'clean', 'infected', 'too_large')")


def downgrade() -> None:
    """Downgrade schema."""
    # A file too large to scan stays quarantined: without a verdict, it is pending.
    op.execute("UPDATE documents SET scan_status = 'pending' WHERE scan_status = 'too_large'")
    op.drop_constraint('ck_documents_scan_status', 'documents', type_='check')
    op.create_check_constraint('ck_documents_scan_status', 'documents',
                               "scan_status IN ('not_scanned', 'pending', 'clean', 'infected')")
