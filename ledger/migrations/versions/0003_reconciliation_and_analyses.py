"""reconciliation and analyses

Observed assets get their census department (a reference beside the code as given), the
codes of the target's data center, platform and network, and the figures analyses read
as columns; devices may name their information system. New tables: daily utilization
summaries, reconciliation pairs, findings with their lifecycle, and analysis runs.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 13:57:19.070900
"""

from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table('analysis_run',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('analysis', sa.String(length=32), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=255), nullable=False),
    sa.Column('summary', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('analysis_run', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_analysis_run_analysis'), ['analysis'], unique=False)

    op.create_table('finding',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('fingerprint', sa.String(length=255), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=True),
    sa.Column('declared_category', sa.String(length=32), nullable=True),
    sa.Column('declared_code', sa.String(length=64), nullable=True),
    sa.Column('observed_asset_id', sa.Integer(), nullable=True),
    sa.Column('observed_source', sa.String(length=128), nullable=True),
    sa.Column('field', sa.String(length=64), nullable=True),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('digest', sa.String(length=32), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=True),
    sa.Column('first_seen', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen', sa.DateTime(timezone=True), nullable=False),
    sa.Column('state_changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('state_changed_by', sa.String(length=255), nullable=False),
    sa.Column('state_reason', sa.Text(), nullable=True),
    sa.Column('reopened', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('fingerprint')
    )
    with op.batch_alter_table('finding', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_finding_active'), ['active'], unique=False)
        batch_op.create_index(batch_op.f('ix_finding_department_id'), ['department_id'], unique=False)
        batch_op.create_index('ix_finding_kind_state', ['kind', 'state'], unique=False)

    op.create_table('reconcile_pair',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('fingerprint', sa.String(length=255), nullable=False),
    sa.Column('digest', sa.String(length=32), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=True),
    sa.Column('declared_category', sa.String(length=32), nullable=True),
    sa.Column('declared_id', sa.Integer(), nullable=True),
    sa.Column('declared_code', sa.String(length=64), nullable=True),
    sa.Column('observed_asset_id', sa.Integer(), nullable=True),
    sa.Column('observed_source', sa.String(length=128), nullable=True),
    sa.Column('observed_kind', sa.String(length=32), nullable=True),
    sa.Column('observed_keys', sa.JSON(), nullable=True),
    sa.Column('also_seen_by', sa.JSON(), nullable=True),
    sa.Column('matched_by', sa.String(length=32), nullable=True),
    sa.Column('differences', sa.JSON(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('first_seen', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_seen', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('fingerprint')
    )
    with op.batch_alter_table('reconcile_pair', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reconcile_pair_department_id'), ['department_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_reconcile_pair_observed_asset_id'), ['observed_asset_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_reconcile_pair_outcome'), ['outcome'], unique=False)

    op.create_table('summary_day',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('resources', sa.Integer(), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('day')
    )
    op.create_table('utilization_day',
    sa.Column('asset_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('cpu_mean', sa.Float(), nullable=True),
    sa.Column('cpu_p95', sa.Float(), nullable=True),
    sa.Column('cpu_max', sa.Float(), nullable=True),
    sa.Column('memory_mean', sa.Float(), nullable=True),
    sa.Column('memory_p95', sa.Float(), nullable=True),
    sa.Column('memory_max', sa.Float(), nullable=True),
    sa.Column('net_in_mean', sa.Float(), nullable=True),
    sa.Column('net_in_p95', sa.Float(), nullable=True),
    sa.Column('net_in_max', sa.Float(), nullable=True),
    sa.Column('net_out_mean', sa.Float(), nullable=True),
    sa.Column('net_out_p95', sa.Float(), nullable=True),
    sa.Column('net_out_max', sa.Float(), nullable=True),
    sa.Column('disk_mean', sa.Float(), nullable=True),
    sa.Column('disk_p95', sa.Float(), nullable=True),
    sa.Column('disk_max', sa.Float(), nullable=True),
    sa.Column('coverage', sa.Float(), nullable=False),
    sa.Column('low_coverage', sa.Boolean(), nullable=False),
    sa.Column('demo', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['asset_id'], ['observed_asset.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('asset_id', 'day')
    )
    with op.batch_alter_table('utilization_day', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_utilization_day_day'), ['day'], unique=False)

    with op.batch_alter_table('census_device', schema=None) as batch_op:
        batch_op.add_column(sa.Column('information_system_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_census_device_information_system_id'), ['information_system_id'], unique=False)
        batch_op.create_foreign_key('fk_census_device_information_system_id', 'census_information_system', ['information_system_id'], ['id'])

    with op.batch_alter_table('observed_asset', schema=None) as batch_op:
        batch_op.add_column(sa.Column('department_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('data_center', sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column('platform', sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column('network', sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column('cpu_model', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('cpu_sockets', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('cpu_cores', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('cpu_threads', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('vcpus', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('memory_bytes', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('disk_bytes', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('gpus', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('architecture', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('power_state', sa.String(length=32), nullable=True))
        batch_op.create_index(batch_op.f('ix_observed_asset_department_id'), ['department_id'], unique=False)
        batch_op.create_foreign_key('fk_observed_asset_department_id', 'census_department', ['department_id'], ['id'], ondelete='SET NULL')



def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table('observed_asset', schema=None) as batch_op:
        batch_op.drop_constraint('fk_observed_asset_department_id', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_observed_asset_department_id'))
        batch_op.drop_column('power_state')
        batch_op.drop_column('architecture')
        batch_op.drop_column('gpus')
        batch_op.drop_column('disk_bytes')
        batch_op.drop_column('memory_bytes')
        batch_op.drop_column('vcpus')
        batch_op.drop_column('cpu_threads')
        batch_op.drop_column('cpu_cores')
        batch_op.drop_column('cpu_sockets')
        batch_op.drop_column('cpu_model')
        batch_op.drop_column('network')
        batch_op.drop_column('platform')
        batch_op.drop_column('data_center')
        batch_op.drop_column('department_id')

    with op.batch_alter_table('census_device', schema=None) as batch_op:
        batch_op.drop_constraint('fk_census_device_information_system_id', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_census_device_information_system_id'))
        batch_op.drop_column('information_system_id')

    with op.batch_alter_table('utilization_day', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_utilization_day_day'))

    op.drop_table('utilization_day')
    op.drop_table('summary_day')
    with op.batch_alter_table('reconcile_pair', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reconcile_pair_outcome'))
        batch_op.drop_index(batch_op.f('ix_reconcile_pair_observed_asset_id'))
        batch_op.drop_index(batch_op.f('ix_reconcile_pair_department_id'))

    op.drop_table('reconcile_pair')
    with op.batch_alter_table('finding', schema=None) as batch_op:
        batch_op.drop_index('ix_finding_kind_state')
        batch_op.drop_index(batch_op.f('ix_finding_department_id'))
        batch_op.drop_index(batch_op.f('ix_finding_active'))

    op.drop_table('finding')
    with op.batch_alter_table('analysis_run', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_analysis_run_analysis'))

    op.drop_table('analysis_run')
