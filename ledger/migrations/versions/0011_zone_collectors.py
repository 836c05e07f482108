"""zone collectors and ingest receipts (collectors in network zones report over the REST API)

Revision ID: 0011
Revises: 0004
Create Date: 2026-12-01 17:30:00.000000
"""

from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table('zone_collector',
    sa.Column('member', sa.String(length=128), nullable=False),
    sa.Column('zone', sa.String(length=64), nullable=False),
    sa.Column('hostname', sa.String(length=255), nullable=False),
    sa.Column('version', sa.String(length=64), nullable=False),
    sa.Column('address', sa.String(length=64), nullable=True),
    sa.Column('first_contact', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_contact', sa.DateTime(timezone=True), nullable=False),
    sa.Column('targets_owned', sa.Integer(), nullable=False),
    sa.Column('backlog_samples', sa.BigInteger(), nullable=False),
    sa.Column('backlog_records', sa.BigInteger(), nullable=False),
    sa.Column('applied_total', sa.BigInteger(), nullable=False),
    sa.Column('duplicates_total', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('member')
    )
    op.create_index(op.f('ix_zone_collector_zone'), 'zone_collector', ['zone'], unique=False)
    op.create_table('ingest_receipt',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('member', sa.String(length=128), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('key')
    )
    op.create_index(op.f('ix_ingest_receipt_received_at'), 'ingest_receipt', ['received_at'],
                    unique=False)


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index(op.f('ix_ingest_receipt_received_at'), table_name='ingest_receipt')
    op.drop_table('ingest_receipt')
    op.drop_index(op.f('ix_zone_collector_zone'), table_name='zone_collector')
    op.drop_table('zone_collector')
