"""link kinds approval and invoice (the API's name for a pay link; `payment` was never issued)

Revision ID: 0005
Revises: 0004
"""
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

KINDS = ("invitation", "file_request", "share", "signature", "approval", "invoice", "client_request")
OLD_KINDS = ("invitation", "file_request", "share", "signature", "payment", "client_request")


def _check(kinds: tuple[str, ...]) -> None:
    op.drop_constraint("ck_links_kind", "links", type_="check")
    op.create_check_constraint("ck_links_kind", "links", f"kind IN ({', '.join(repr(k) for k in kinds)})")


def upgrade() -> None:
    _check(KINDS)


def downgrade() -> None:
    _check(OLD_KINDS)
