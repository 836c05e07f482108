"""a zone collector account is bound to its one network zone

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 19:00:00.000000
"""

from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table('identity_user') as batch:
        batch.add_column(sa.Column('zone', sa.String(length=64), nullable=True))


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table('identity_user') as batch:
        batch.drop_column('zone')
