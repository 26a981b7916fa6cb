"""firms.access_version, bumped by triggers on every table whose rows decide account access

Revision ID: 0008
Revises: 0007

Services cache crm's `authorize_account` answers under the version `authenticate` read (shared.access):
a commit that changes who may open what must move its firm's version, whichever code path wrote it, so
the database does it. The triggers are deferred to the commit: the firm's row is locked only then, when
the transaction holds every other lock it will take, so concurrent writers of one firm queue for a
moment but never deadlock on it; a transaction bumps each of its firms once, however many rows it wrote.
Sessions need none: `authenticate` reads the session on every request (logout, expiry).
"""
import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# What decides a staff member's access (users: role, rights, status; account_team; accounts) and a client's
# (portal_access rows, their contacts' addresses and links; portal_settings, part of the cached answer).
TABLES = ("users", "accounts", "account_team", "portal_access", "portal_settings", "account_contacts",
          "contact_emails")


def upgrade() -> None:
    op.add_column("firms", sa.Column("access_version", sa.BigInteger(), server_default="1", nullable=False))
    op.execute("""
        CREATE FUNCTION bump_access_version() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            firm uuid := CASE WHEN TG_OP = 'DELETE' THEN OLD.firm_id ELSE NEW.firm_id END;
            -- The firms this transaction has bumped already (a transaction-local setting).
            bumped text := coalesce(current_setting('porta.access_bumped', true), '');
        BEGIN
            IF strpos(bumped, firm::text) = 0 THEN
                UPDATE firms SET access_version = access_version + 1 WHERE id = firm;
                PERFORM set_config('porta.access_bumped', bumped || firm::text || ' ', true);
            END IF;
            RETURN NULL;
        END $$
    """)
    for table in TABLES:
        op.execute(f"""
            CREATE CONSTRAINT TRIGGER {table}_access_version AFTER INSERT OR DELETE ON {table}
            DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION bump_access_version()
        """)
        # An update that changes nothing (a no-op flush) queues nothing.
        op.execute(f"""
            CREATE CONSTRAINT TRIGGER {table}_access_version_update AFTER UPDATE ON {table}
            DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*)
            EXECUTE FUNCTION bump_access_version()
        """)


def downgrade() -> None:
    for table in TABLES:
        op.execute(f"DROP TRIGGER {table}_access_version_update ON {table}")
        op.execute(f"DROP TRIGGER {table}_access_version ON {table}")
    op.execute("DROP FUNCTION bump_access_version()")
    op.drop_column("firms", "access_version")
