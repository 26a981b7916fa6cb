"""folders, documents, uploads, file requests

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 15:36:41.092941

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('folders',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('firm_id', sa.UUID(), nullable=False),
    sa.Column('account_id', sa.UUID(), nullable=False),
    sa.Column('parent_id', sa.UUID(), nullable=True),
    sa.Column('root', sa.String(length=10), nullable=True),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('client_access', sa.String(length=10), nullable=False),
    sa.Column('created_by', sa.UUID(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("client_access IN ('none', 'view', 'view_edit')", name='ck_folders_client_access'),
    sa.CheckConstraint("root IN ('private', 'client')", name='ck_folders_root'),
    sa.CheckConstraint('(root IS NULL) <> (parent_id IS NULL)', name='ck_folders_root_has_no_parent'),
    sa.ForeignKeyConstraint(['firm_id', 'parent_id'], ['folders.firm_id', 'folders.id'], name='fk_folders_parent', ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('firm_id', 'id', name='uq_folders_firm_id')
    )
    op.create_index('ix_folders_firm_account', 'folders', ['firm_id', 'account_id'], unique=False)
    op.create_index('uq_folders_account_root', 'folders', ['account_id', 'root'], unique=True, postgresql_where=sa.text('root IS NOT NULL'))
    op.create_index('uq_folders_sibling_name', 'folders', ['parent_id', sa.literal_column('lower(name)')], unique=True, postgresql_where=sa.text('parent_id IS NOT NULL'))
    op.create_table('file_requests',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('firm_id', sa.UUID(), nullable=False),
    sa.Column('account_id', sa.UUID(), nullable=False),
    sa.Column('folder_id', sa.UUID(), nullable=False),
    sa.Column('guest', sa.Boolean(), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('link_id', sa.UUID(), nullable=True),
    sa.Column('recipients', sa.ARRAY(sa.String(length=254)), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('max_files', sa.Integer(), nullable=True),
    sa.Column('max_bytes', sa.BigInteger(), nullable=True),
    sa.Column('allowed_types', sa.ARRAY(sa.String(length=20)), nullable=True),
    sa.Column('received_count', sa.Integer(), nullable=False),
    sa.Column('received_bytes', sa.BigInteger(), nullable=False),
    sa.Column('received_since_done', sa.Integer(), nullable=False),
    sa.Column('done_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_by', sa.UUID(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('open', 'revoked')", name='ck_file_requests_status'),
    sa.ForeignKeyConstraint(['firm_id', 'folder_id'], ['folders.firm_id', 'folders.id'], name='fk_file_requests_folder', ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('firm_id', 'id', name='uq_file_requests_firm_id')
    )
    op.create_index('ix_file_requests_firm_account_created', 'file_requests', ['firm_id', 'account_id', 'created_at'], unique=False)
    op.create_table('documents',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('firm_id', sa.UUID(), nullable=False),
    sa.Column('account_id', sa.UUID(), nullable=False),
    sa.Column('folder_id', sa.UUID(), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('content_type', sa.String(length=255), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('object_key', sa.String(length=300), nullable=False),
    sa.Column('source', sa.String(length=10), nullable=False),
    sa.Column('uploaded_by_kind', sa.String(length=10), nullable=False),
    sa.Column('uploaded_by_id', sa.UUID(), nullable=True),
    sa.Column('uploader_name', sa.String(length=200), nullable=True),
    sa.Column('uploader_email', sa.String(length=254), nullable=True),
    sa.Column('file_request_id', sa.UUID(), nullable=True),
    sa.Column('archive_id', sa.UUID(), nullable=True),
    sa.Column('scan_status', sa.String(length=12), nullable=False),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("scan_status IN ('not_scanned', 'pending', 'clean', 'infected')", name='ck_documents_scan_status'),
    sa.CheckConstraint("source IN ('staff', 'portal', 'link', 'chat', 'email')", name='ck_documents_source'),
    sa.CheckConstraint("uploaded_by_kind IN ('staff', 'client', 'link')", name='ck_documents_uploaded_by_kind'),
    sa.ForeignKeyConstraint(['firm_id', 'file_request_id'], ['file_requests.firm_id', 'file_requests.id'], name='fk_documents_file_request'),
    sa.ForeignKeyConstraint(['firm_id', 'folder_id'], ['folders.firm_id', 'folders.id'], name='fk_documents_folder', ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('firm_id', 'id', name='uq_documents_firm_id'),
    sa.UniqueConstraint('object_key', name='uq_documents_object_key')
    )
    op.create_index('ix_documents_file_request_sha256', 'documents', ['file_request_id', 'sha256'], unique=False)
    op.create_index('ix_documents_firm_account_created', 'documents', ['firm_id', 'account_id', 'created_at'], unique=False)
    op.create_index('ix_documents_folder_created', 'documents', ['folder_id', 'created_at'], unique=False)
    op.create_table('uploads',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('firm_id', sa.UUID(), nullable=False),
    sa.Column('account_id', sa.UUID(), nullable=False),
    sa.Column('folder_id', sa.UUID(), nullable=False),
    sa.Column('file_request_id', sa.UUID(), nullable=True),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('declared_type', sa.String(length=255), nullable=True),
    sa.Column('unzip', sa.Boolean(), nullable=False),
    sa.Column('source', sa.String(length=10), nullable=False),
    sa.Column('uploaded_by_kind', sa.String(length=10), nullable=False),
    sa.Column('uploaded_by_id', sa.UUID(), nullable=True),
    sa.Column('uploader_name', sa.String(length=200), nullable=True),
    sa.Column('uploader_email', sa.String(length=254), nullable=True),
    sa.Column('max_bytes', sa.BigInteger(), nullable=False),
    sa.Column('object_prefix', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("source IN ('staff', 'portal', 'link', 'chat', 'email')", name='ck_uploads_source'),
    sa.CheckConstraint("uploaded_by_kind IN ('staff', 'client', 'link')", name='ck_uploads_uploaded_by_kind'),
    sa.ForeignKeyConstraint(['firm_id', 'file_request_id'], ['file_requests.firm_id', 'file_requests.id'], name='fk_uploads_file_request', ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['firm_id', 'folder_id'], ['folders.firm_id', 'folders.id'], name='fk_uploads_folder', ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('firm_id', 'id', name='uq_uploads_firm_id')
    )
    op.create_index('ix_uploads_expires_at', 'uploads', ['expires_at'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index('ix_uploads_expires_at', table_name='uploads')
    op.drop_table('uploads')
    op.drop_index('ix_documents_folder_created', table_name='documents')
    op.drop_index('ix_documents_firm_account_created', table_name='documents')
    op.drop_index('ix_documents_file_request_sha256', table_name='documents')
    op.drop_table('documents')
    op.drop_index('ix_file_requests_firm_account_created', table_name='file_requests')
    op.drop_table('file_requests')
    op.drop_index('uq_folders_sibling_name', table_name='folders', postgresql_where=sa.text('parent_id IS NOT NULL'))
    op.drop_index('uq_folders_account_root', table_name='folders', postgresql_where=sa.text('root IS NOT NULL'))
    op.drop_index('ix_folders_firm_account', table_name='folders')
    op.drop_table('folders')
