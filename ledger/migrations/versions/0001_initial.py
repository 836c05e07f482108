"""initial schema: observed assets, target state, runtime stats

Revision ID: 0001
Revises: 
Create Date: 2026-11-21 11:53:06.777101
"""

from alembic import op
import sqlalchemy as sa


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table('observed_asset',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=128), nullable=False),
    sa.Column('collector', sa.String(length=32), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('natural_key', sa.String(length=255), nullable=False),
    sa.Column('serial_number', sa.String(length=128), nullable=True),
    sa.Column('vendor', sa.String(length=128), nullable=True),
    sa.Column('model', sa.String(length=255), nullable=True),
    sa.Column('instance_uuid', sa.String(length=64), nullable=True),
    sa.Column('machine_uuid', sa.String(length=64), nullable=True),
    sa.Column('mac', sa.String(length=32), nullable=True),
    sa.Column('macs', sa.JSON(), nullable=False),
    sa.Column('mgmt_ip', sa.String(length=64), nullable=True),
    sa.Column('hostname', sa.String(length=255), nullable=True),
    sa.Column('department', sa.String(length=128), nullable=True),
    sa.Column('attributes', sa.JSON(), nullable=False),
    sa.Column('first_seen', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('source', 'natural_key', name='uq_observed_asset_source_key')
    )
    with op.batch_alter_table('observed_asset', schema=None) as batch_op:
        batch_op.create_index('ix_observed_asset_hostname', ['hostname'], unique=False)
        batch_op.create_index('ix_observed_asset_instance_uuid', ['instance_uuid'], unique=False)
        batch_op.create_index('ix_observed_asset_mac', ['mac'], unique=False)
        batch_op.create_index('ix_observed_asset_machine_uuid', ['machine_uuid'], unique=False)
        batch_op.create_index('ix_observed_asset_mgmt_ip', ['mgmt_ip'], unique=False)
        batch_op.create_index('ix_observed_asset_serial', ['serial_number'], unique=False)

    op.create_table('runtime_stat',
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('value', sa.Float(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )
    op.create_table('target_state',
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=True),
    sa.Column('up', sa.Boolean(), nullable=True),
    sa.Column('last_poll', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_success', sa.DateTime(timezone=True), nullable=True),
    sa.Column('duration_seconds', sa.Float(), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('polls_total', sa.BigInteger(), nullable=False),
    sa.Column('failures_total', sa.BigInteger(), nullable=False),
    sa.Column('samples_total', sa.BigInteger(), nullable=False),
    sa.Column('duration_seconds_total', sa.Float(), nullable=False),
    sa.Column('interval_seconds', sa.Float(), nullable=True),
    sa.PrimaryKeyConstraint('name')
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table('target_state')
    op.drop_table('runtime_stat')
    with op.batch_alter_table('observed_asset', schema=None) as batch_op:
        batch_op.drop_index('ix_observed_asset_serial')
        batch_op.drop_index('ix_observed_asset_mgmt_ip')
        batch_op.drop_index('ix_observed_asset_machine_uuid')
        batch_op.drop_index('ix_observed_asset_mac')
        batch_op.drop_index('ix_observed_asset_instance_uuid')
        batch_op.drop_index('ix_observed_asset_hostname')

    op.drop_table('observed_asset')
