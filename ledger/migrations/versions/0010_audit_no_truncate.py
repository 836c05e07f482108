"""audit log refuses TRUNCATE (PostgreSQL)

Row triggers (0002) refuse UPDATE and DELETE on the change log, but TRUNCATE fires no
row trigger on PostgreSQL: a statement trigger refuses it too. SQLite has no TRUNCATE
(``DELETE`` without ``WHERE`` still fires the row triggers). Whoever can drop triggers
can still empty the log; ``audit verify`` then finds it against the signed checkpoints
(ledger/census/anchor.py).

Revision ID: 0010
Revises: 0004
Create Date: 2026-12-01 17:45:00.000000
"""

from alembic import op


revision = "0010"
down_revision = "0005"
branch_labels = None
depends_on = None

TABLES = ("audit_record", "audit_head")


def upgrade() -> None:
    """Apply this revision."""
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        op.execute(f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                   "FOR EACH STATEMENT EXECUTE FUNCTION audit_record_refuse()")


def downgrade() -> None:
    """Revert this revision."""
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
