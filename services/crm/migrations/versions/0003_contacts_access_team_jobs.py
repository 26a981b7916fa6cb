"""contacts access team jobs

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 12:47:25.479450

"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('contacts',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('firm_id', sa.UUID(), nullable=False),
    sa.Column('first_name', sa.String(length=100), nullable=False),
    sa.Column('last_name', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['firm_id'], ['firms.id'], name='fk_contacts_firm'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('firm_id', 'id', name='uq_contacts_firm_id')
    )
    op.create_index('ix_contacts_firm_created', 'contacts', ['firm_id', 'created_at', 'id'], unique=False)
    op.create_table('account_contacts',
    sa.Column('account_id', sa.UUID(), nullable=False),
    sa.Column('contact_id', sa.UUID(), nullable=False),
    sa.Column('firm_id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['firm_id', 'account_id'], ['accounts.firm_id', 'accounts.id'], name='fk_account_contacts_account', ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['firm_id', 'contact_id'], ['contacts.firm_id', 'contacts.id'], name='fk_account_contacts_contact', ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('account_id', 'contact_id')
    )
    op.create_table('account_team',
    sa.Column('account_id', sa.UUID(), nullable=False),
    sa.Column('user_id', sa.UUID(), nullable=False),
    sa.Column('firm_id', sa.UUID(), nullable=False),
    sa.ForeignKeyConstraint(['firm_id', 'account_id'], ['accounts.firm_id', 'accounts.id'], name='fk_account_team_account', ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['firm_id', 'user_id'], ['users.firm_id', 'users.id'], name='fk_account_team_user', ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('account_id', 'user_id')
    )
    op.create_index('ix_account_team_user', 'account_team', ['user_id'], unique=False)
    op.create_table('contact_emails',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('firm_id', sa.UUID(), nullable=False),
    sa.Column('contact_id', sa.UUID(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['firm_id', 'contact_id'], ['contacts.firm_id', 'contacts.id'], name='fk_contact_emails_contact', ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('firm_id', 'email', name='uq_contact_emails_firm_email')
    )
    op.create_table('jobs',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('firm_id', sa.UUID(), nullable=False),
    sa.Column('account_id', sa.UUID(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=100), nullable=False),
    sa.Column('client_status', sa.String(length=100), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['firm_id', 'account_id'], ['accounts.firm_id', 'accounts.id'], name='fk_jobs_account', ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_jobs_account_created', 'jobs', ['account_id', 'created_at', 'id'], unique=False)
    op.create_table('portal_access',
    sa.Column('account_id', sa.UUID(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('firm_id', sa.UUID(), nullable=False),
    sa.Column('login', sa.Boolean(), nullable=False),
    sa.Column('notify', sa.Boolean(), nullable=False),
    sa.Column('email_sync', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('user_id', sa.UUID(), nullable=True),
    sa.Column('categories', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['firm_id', 'account_id'], ['accounts.firm_id', 'accounts.id'], name='fk_portal_access_account', ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['firm_id', 'user_id'], ['users.firm_id', 'users.id'], name='fk_portal_access_user'),
    sa.PrimaryKeyConstraint('account_id', 'email')
    )
    op.create_index('ix_portal_access_user', 'portal_access', ['user_id'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index('ix_portal_access_user', table_name='portal_access')
    op.drop_table('portal_access')
    op.drop_index('ix_jobs_account_created', table_name='jobs')
    op.drop_table('jobs')
    op.drop_table('contact_emails')
    op.drop_index('ix_account_team_user', table_name='account_team')
    op.drop_table('account_team')
    op.drop_table('account_contacts')
    op.drop_index('ix_contacts_firm_created', table_name='contacts')
    op.drop_table('contacts')
