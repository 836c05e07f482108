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


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table('observed_asset') as batch:
        batch.add_column(sa.Column('entity_id', sa.Integer(), nullable=True))
        batch.create_index('ix_observed_asset_entity_id', ['entity_id'])


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table('observed_asset') as batch:
        batch.drop_index('ix_observed_asset_entity_id')
        batch.drop_column('entity_id')
