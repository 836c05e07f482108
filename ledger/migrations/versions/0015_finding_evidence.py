"""findings keep a digest of their evidence apart from the digest of what they show

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02 01:40:00.000000
"""

from alembic import op
import sqlalchemy as sa


revision = '0015'
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision (filled by each finding's next analysis run; until then a
    finding resolved by hand is not reopened on evidence)."""
    with op.batch_alter_table('finding') as batch:
        batch.add_column(sa.Column('evidence', sa.String(32), nullable=True))


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table('finding') as batch:
        batch.drop_column('evidence')
