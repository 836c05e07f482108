"""observed rows remember the entity reconciliation grouped them into

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 21:40:00.000000
"""

from alembic import op
import sqlalchemy as sa


revision = '0013'
down_revision = "0012"
branch_labels = None
depends_on = None


#: What grouping rows into entities reads (``ledger.reconcile.entities.build``).
COLUMNS = ("id", "kind", "collector", "natural_key", "serial_number", "vendor",
           "machine_uuid", "instance_uuid", "macs", "mgmt_ip", "hostname", "first_seen",
           "last_seen")


def upgrade() -> None:
    """Apply this revision, and group the rows already observed as reconciliation would
    (with the default placeholders; the next reconciliation applies the configured ones),
    so the analyses count a server its BMC and its agent both see once from the start."""
    with op.batch_alter_table('observed_asset') as batch:
        batch.add_column(sa.Column('entity_id', sa.Integer(), nullable=True))
        batch.create_index('ix_observed_asset_entity_id', ['entity_id'])
    from collections import namedtuple

    from ledger.reconcile.entities import build

    table = sa.table("observed_asset", *(sa.column(c, sa.JSON if c == "macs" else None)
                                         for c in COLUMNS), sa.column("entity_id"))
    Row = namedtuple("Row", COLUMNS)
    bind = op.get_bind()
    rows = [Row(*r) for r in bind.execute(sa.select(*(table.c[c] for c in COLUMNS)))]
    members = [{"row_id": row.id, "entity": entity.id}
               for entity in build(rows)[0] if len(entity.rows) > 1 for row in entity.rows]
    if members:
        bind.execute(sa.update(table).where(table.c.id == sa.bindparam("row_id"))
                     .values(entity_id=sa.bindparam("entity")), members)


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table('observed_asset') as batch:
        batch.drop_index('ix_observed_asset_entity_id')
        batch.drop_column('entity_id')
