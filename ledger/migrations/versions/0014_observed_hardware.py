"""observed devices say whether their agent answers for the hardware (SNMP BMCs)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01 22:10:00.000000
"""

from alembic import op
import sqlalchemy as sa


revision = '0014'
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision (filled by the next inventory poll of each device)."""
    with op.batch_alter_table('observed_asset') as batch:
        batch.add_column(sa.Column('hardware', sa.Boolean(), nullable=True))


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table('observed_asset') as batch:
        batch.drop_column('hardware')
