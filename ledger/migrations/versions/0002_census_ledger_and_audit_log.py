"""census ledger and audit log

Declared assets of every census category, regions and departments (with materialised
id paths for subtree scopes), and the hash-chained audit log. The audit tables refuse
UPDATE and DELETE through triggers on both SQLite and PostgreSQL.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21 12:45:01.677961
"""

from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table('audit_head',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('hash', sa.String(length=128), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('audit_record',
    sa.Column('seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('time', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=255), nullable=False),
    sa.Column('batch_id', sa.String(length=64), nullable=False),
    sa.Column('request_id', sa.String(length=64), nullable=True),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('object_type', sa.String(length=64), nullable=False),
    sa.Column('object_key', sa.String(length=255), nullable=False),
    sa.Column('changes', sa.JSON(), nullable=False),
    sa.Column('algorithm', sa.String(length=16), nullable=False),
    sa.Column('prev_hash', sa.String(length=128), nullable=False),
    sa.Column('hash', sa.String(length=128), nullable=False),
    sa.PrimaryKeyConstraint('seq')
    )
    with op.batch_alter_table('audit_record', schema=None) as batch_op:
        batch_op.create_index('ix_audit_record_batch', ['batch_id'], unique=False)
        batch_op.create_index('ix_audit_record_object', ['object_type', 'object_key'], unique=False)

    op.create_table('census_region',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('level', sa.String(length=32), nullable=False),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('path', sa.String(length=1024), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['parent_id'], ['census_region.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code')
    )
    with op.batch_alter_table('census_region', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_census_region_parent_id'), ['parent_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_census_region_path'), ['path'], unique=False)

    op.create_table('census_department',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('region_id', sa.Integer(), nullable=True),
    sa.Column('contact', sa.String(length=255), nullable=True),
    sa.Column('phone', sa.String(length=64), nullable=True),
    sa.Column('path', sa.String(length=1024), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['parent_id'], ['census_department.id'], ),
    sa.ForeignKeyConstraint(['region_id'], ['census_region.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code')
    )
    with op.batch_alter_table('census_department', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_census_department_parent_id'), ['parent_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_census_department_path'), ['path'], unique=False)
        batch_op.create_index(batch_op.f('ix_census_department_region_id'), ['region_id'], unique=False)

    op.create_table('census_data_center',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=False),
    sa.Column('region_id', sa.Integer(), nullable=True),
    sa.Column('build_mode', sa.String(length=32), nullable=False),
    sa.Column('function', sa.String(length=255), nullable=True),
    sa.Column('location', sa.String(length=255), nullable=True),
    sa.Column('build_standard', sa.String(length=32), nullable=True),
    sa.Column('network_egress', sa.String(length=255), nullable=True),
    sa.Column('protection_level', sa.SmallInteger(), nullable=True),
    sa.Column('approving_department', sa.String(length=255), nullable=True),
    sa.Column('approval_date', sa.Date(), nullable=True),
    sa.Column('funding_source', sa.String(length=32), nullable=True),
    sa.Column('build_date', sa.Date(), nullable=True),
    sa.Column('in_service_date', sa.Date(), nullable=True),
    sa.Column('total_investment', sa.BigInteger(), nullable=True),
    sa.Column('device_count', sa.BigInteger(), nullable=True),
    sa.Column('rack_count', sa.BigInteger(), nullable=True),
    sa.Column('consolidation_status', sa.String(length=32), nullable=False),
    sa.Column('remarks', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['department_id'], ['census_department.id'], ),
    sa.ForeignKeyConstraint(['region_id'], ['census_region.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code')
    )
    with op.batch_alter_table('census_data_center', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_census_data_center_department_id'), ['department_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_census_data_center_region_id'), ['region_id'], unique=False)

    op.create_table('census_dedicated_network',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=False),
    sa.Column('coverage', sa.String(length=32), nullable=False),
    sa.Column('lines', sa.String(length=255), nullable=True),
    sa.Column('line_count', sa.BigInteger(), nullable=True),
    sa.Column('internet_egress', sa.Boolean(), nullable=True),
    sa.Column('protection_level', sa.SmallInteger(), nullable=True),
    sa.Column('approving_department', sa.String(length=255), nullable=True),
    sa.Column('approval_date', sa.Date(), nullable=True),
    sa.Column('funding_source', sa.String(length=32), nullable=True),
    sa.Column('build_date', sa.Date(), nullable=True),
    sa.Column('in_service_date', sa.Date(), nullable=True),
    sa.Column('total_investment', sa.BigInteger(), nullable=True),
    sa.Column('integration_plan', sa.String(length=32), nullable=False),
    sa.Column('integration_status', sa.String(length=32), nullable=True),
    sa.Column('integration_due', sa.Date(), nullable=True),
    sa.Column('remarks', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['department_id'], ['census_department.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code')
    )
    with op.batch_alter_table('census_dedicated_network', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_census_dedicated_network_department_id'), ['department_id'], unique=False)

    op.create_table('census_cloud_platform',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=False),
    sa.Column('data_center_id', sa.Integer(), nullable=True),
    sa.Column('build_mode', sa.String(length=32), nullable=False),
    sa.Column('platform_type', sa.String(length=32), nullable=True),
    sa.Column('compute', sa.String(length=255), nullable=True),
    sa.Column('storage', sa.String(length=255), nullable=True),
    sa.Column('database', sa.String(length=255), nullable=True),
    sa.Column('network', sa.String(length=255), nullable=True),
    sa.Column('security', sa.String(length=255), nullable=True),
    sa.Column('disaster_recovery', sa.String(length=255), nullable=True),
    sa.Column('support_software', sa.String(length=255), nullable=True),
    sa.Column('vcpu_capacity', sa.BigInteger(), nullable=True),
    sa.Column('memory_capacity_gib', sa.Float(), nullable=True),
    sa.Column('storage_capacity_tib', sa.Float(), nullable=True),
    sa.Column('protection_level', sa.SmallInteger(), nullable=True),
    sa.Column('approving_department', sa.String(length=255), nullable=True),
    sa.Column('approval_date', sa.Date(), nullable=True),
    sa.Column('funding_source', sa.String(length=32), nullable=True),
    sa.Column('build_date', sa.Date(), nullable=True),
    sa.Column('in_service_date', sa.Date(), nullable=True),
    sa.Column('total_investment', sa.BigInteger(), nullable=True),
    sa.Column('remarks', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['data_center_id'], ['census_data_center.id'], ),
    sa.ForeignKeyConstraint(['department_id'], ['census_department.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code')
    )
    with op.batch_alter_table('census_cloud_platform', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_census_cloud_platform_data_center_id'), ['data_center_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_census_cloud_platform_department_id'), ['department_id'], unique=False)

    op.create_table('census_device',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=False),
    sa.Column('device_type', sa.String(length=32), nullable=False),
    sa.Column('vendor', sa.String(length=128), nullable=True),
    sa.Column('model', sa.String(length=255), nullable=True),
    sa.Column('serial_number', sa.String(length=128), nullable=True),
    sa.Column('management_ip', sa.String(length=64), nullable=True),
    sa.Column('mac', sa.String(length=32), nullable=True),
    sa.Column('hostname', sa.String(length=255), nullable=True),
    sa.Column('data_center_id', sa.Integer(), nullable=True),
    sa.Column('rack', sa.String(length=64), nullable=True),
    sa.Column('cpu_model', sa.String(length=255), nullable=True),
    sa.Column('cpu_cores', sa.BigInteger(), nullable=True),
    sa.Column('memory_gib', sa.Float(), nullable=True),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('purchase_date', sa.Date(), nullable=True),
    sa.Column('purchase_price', sa.BigInteger(), nullable=True),
    sa.Column('funding_source', sa.String(length=32), nullable=True),
    sa.Column('remarks', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['data_center_id'], ['census_data_center.id'], ),
    sa.ForeignKeyConstraint(['department_id'], ['census_department.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code'),
    sa.UniqueConstraint('mac', name='uq_census_device_mac'),
    sa.UniqueConstraint('vendor', 'serial_number', name='uq_census_device_vendor_serial_number')
    )
    with op.batch_alter_table('census_device', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_census_device_data_center_id'), ['data_center_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_census_device_department_id'), ['department_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_census_device_hostname'), ['hostname'], unique=False)
        batch_op.create_index(batch_op.f('ix_census_device_mac'), ['mac'], unique=False)
        batch_op.create_index(batch_op.f('ix_census_device_management_ip'), ['management_ip'], unique=False)
        batch_op.create_index(batch_op.f('ix_census_device_serial_number'), ['serial_number'], unique=False)

    op.create_table('census_information_system',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=False),
    sa.Column('network_type', sa.String(length=32), nullable=False),
    sa.Column('dedicated_network_id', sa.Integer(), nullable=True),
    sa.Column('build_type', sa.String(length=32), nullable=False),
    sa.Column('usage_status', sa.String(length=32), nullable=False),
    sa.Column('system_type', sa.String(length=32), nullable=True),
    sa.Column('protection_level', sa.SmallInteger(), nullable=True),
    sa.Column('approving_department', sa.String(length=255), nullable=True),
    sa.Column('approval_date', sa.Date(), nullable=True),
    sa.Column('funding_source', sa.String(length=32), nullable=True),
    sa.Column('build_date', sa.Date(), nullable=True),
    sa.Column('in_service_date', sa.Date(), nullable=True),
    sa.Column('total_investment', sa.BigInteger(), nullable=True),
    sa.Column('run_location', sa.String(length=32), nullable=True),
    sa.Column('current_platform_id', sa.Integer(), nullable=True),
    sa.Column('current_data_center_id', sa.Integer(), nullable=True),
    sa.Column('migration_plan', sa.String(length=32), nullable=True),
    sa.Column('migration_target_id', sa.Integer(), nullable=True),
    sa.Column('migration_due', sa.Date(), nullable=True),
    sa.Column('migration_status', sa.String(length=32), nullable=True),
    sa.Column('remarks', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['current_data_center_id'], ['census_data_center.id'], ),
    sa.ForeignKeyConstraint(['current_platform_id'], ['census_cloud_platform.id'], ),
    sa.ForeignKeyConstraint(['dedicated_network_id'], ['census_dedicated_network.id'], ),
    sa.ForeignKeyConstraint(['department_id'], ['census_department.id'], ),
    sa.ForeignKeyConstraint(['migration_target_id'], ['census_cloud_platform.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code')
    )
    with op.batch_alter_table('census_information_system', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_census_information_system_current_data_center_id'), ['current_data_center_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_census_information_system_current_platform_id'), ['current_platform_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_census_information_system_dedicated_network_id'), ['dedicated_network_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_census_information_system_department_id'), ['department_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_census_information_system_migration_target_id'), ['migration_target_id'], unique=False)

    op.create_table('census_cloud_resource',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=False),
    sa.Column('resource_type', sa.String(length=32), nullable=False),
    sa.Column('instance_id', sa.String(length=64), nullable=True),
    sa.Column('platform_id', sa.Integer(), nullable=False),
    sa.Column('information_system_id', sa.Integer(), nullable=True),
    sa.Column('vcpu', sa.BigInteger(), nullable=True),
    sa.Column('memory_gib', sa.Float(), nullable=True),
    sa.Column('disk_gib', sa.Float(), nullable=True),
    sa.Column('ip_address', sa.String(length=64), nullable=True),
    sa.Column('hostname', sa.String(length=255), nullable=True),
    sa.Column('status', sa.String(length=32), nullable=True),
    sa.Column('in_service_date', sa.Date(), nullable=True),
    sa.Column('annual_cost', sa.BigInteger(), nullable=True),
    sa.Column('remarks', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['department_id'], ['census_department.id'], ),
    sa.ForeignKeyConstraint(['information_system_id'], ['census_information_system.id'], ),
    sa.ForeignKeyConstraint(['platform_id'], ['census_cloud_platform.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code'),
    sa.UniqueConstraint('instance_id', name='uq_census_cloud_resource_instance_id')
    )
    with op.batch_alter_table('census_cloud_resource', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_census_cloud_resource_department_id'), ['department_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_census_cloud_resource_hostname'), ['hostname'], unique=False)
        batch_op.create_index(batch_op.f('ix_census_cloud_resource_information_system_id'), ['information_system_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_census_cloud_resource_instance_id'), ['instance_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_census_cloud_resource_ip_address'), ['ip_address'], unique=False)
        batch_op.create_index(batch_op.f('ix_census_cloud_resource_platform_id'), ['platform_id'], unique=False)

    op.create_table('census_dr_pair',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=False),
    sa.Column('mode', sa.String(length=32), nullable=False),
    sa.Column('primary_system_id', sa.Integer(), nullable=True),
    sa.Column('standby_system_id', sa.Integer(), nullable=True),
    sa.Column('primary_platform_id', sa.Integer(), nullable=True),
    sa.Column('standby_platform_id', sa.Integer(), nullable=True),
    sa.Column('rpo_minutes', sa.BigInteger(), nullable=True),
    sa.Column('rto_minutes', sa.BigInteger(), nullable=True),
    sa.Column('remarks', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['department_id'], ['census_department.id'], ),
    sa.ForeignKeyConstraint(['primary_platform_id'], ['census_cloud_platform.id'], ),
    sa.ForeignKeyConstraint(['primary_system_id'], ['census_information_system.id'], ),
    sa.ForeignKeyConstraint(['standby_platform_id'], ['census_cloud_platform.id'], ),
    sa.ForeignKeyConstraint(['standby_system_id'], ['census_information_system.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code')
    )
    with op.batch_alter_table('census_dr_pair', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_census_dr_pair_department_id'), ['department_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_census_dr_pair_primary_platform_id'), ['primary_platform_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_census_dr_pair_primary_system_id'), ['primary_system_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_census_dr_pair_standby_platform_id'), ['standby_platform_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_census_dr_pair_standby_system_id'), ['standby_system_id'], unique=False)


    _audit_append_only()


def downgrade() -> None:
    """Revert this revision."""
    _drop_append_only()
    with op.batch_alter_table('census_dr_pair', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_census_dr_pair_standby_system_id'))
        batch_op.drop_index(batch_op.f('ix_census_dr_pair_standby_platform_id'))
        batch_op.drop_index(batch_op.f('ix_census_dr_pair_primary_system_id'))
        batch_op.drop_index(batch_op.f('ix_census_dr_pair_primary_platform_id'))
        batch_op.drop_index(batch_op.f('ix_census_dr_pair_department_id'))

    op.drop_table('census_dr_pair')
    with op.batch_alter_table('census_cloud_resource', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_census_cloud_resource_platform_id'))
        batch_op.drop_index(batch_op.f('ix_census_cloud_resource_ip_address'))
        batch_op.drop_index(batch_op.f('ix_census_cloud_resource_instance_id'))
        batch_op.drop_index(batch_op.f('ix_census_cloud_resource_information_system_id'))
        batch_op.drop_index(batch_op.f('ix_census_cloud_resource_hostname'))
        batch_op.drop_index(batch_op.f('ix_census_cloud_resource_department_id'))

    op.drop_table('census_cloud_resource')
    with op.batch_alter_table('census_information_system', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_census_information_system_migration_target_id'))
        batch_op.drop_index(batch_op.f('ix_census_information_system_department_id'))
        batch_op.drop_index(batch_op.f('ix_census_information_system_dedicated_network_id'))
        batch_op.drop_index(batch_op.f('ix_census_information_system_current_platform_id'))
        batch_op.drop_index(batch_op.f('ix_census_information_system_current_data_center_id'))

    op.drop_table('census_information_system')
    with op.batch_alter_table('census_device', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_census_device_serial_number'))
        batch_op.drop_index(batch_op.f('ix_census_device_management_ip'))
        batch_op.drop_index(batch_op.f('ix_census_device_mac'))
        batch_op.drop_index(batch_op.f('ix_census_device_hostname'))
        batch_op.drop_index(batch_op.f('ix_census_device_department_id'))
        batch_op.drop_index(batch_op.f('ix_census_device_data_center_id'))

    op.drop_table('census_device')
    with op.batch_alter_table('census_cloud_platform', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_census_cloud_platform_department_id'))
        batch_op.drop_index(batch_op.f('ix_census_cloud_platform_data_center_id'))

    op.drop_table('census_cloud_platform')
    with op.batch_alter_table('census_dedicated_network', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_census_dedicated_network_department_id'))

    op.drop_table('census_dedicated_network')
    with op.batch_alter_table('census_data_center', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_census_data_center_region_id'))
        batch_op.drop_index(batch_op.f('ix_census_data_center_department_id'))

    op.drop_table('census_data_center')
    with op.batch_alter_table('census_department', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_census_department_region_id'))
        batch_op.drop_index(batch_op.f('ix_census_department_path'))
        batch_op.drop_index(batch_op.f('ix_census_department_parent_id'))

    op.drop_table('census_department')
    with op.batch_alter_table('census_region', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_census_region_path'))
        batch_op.drop_index(batch_op.f('ix_census_region_parent_id'))

    op.drop_table('census_region')
    with op.batch_alter_table('audit_record', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_record_object')
        batch_op.drop_index('ix_audit_record_batch')

    op.drop_table('audit_record')
    op.drop_table('audit_head')


GENESIS = "0" * 64


def _audit_append_only() -> None:
    op.execute(sa.text("INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, :h)")
               .bindparams(h=GENESIS))
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE FUNCTION audit_record_refuse() RETURNS trigger LANGUAGE plpgsql AS "
                   "$$ BEGIN RAISE EXCEPTION 'audit records are append-only'; END $$")
        op.execute("CREATE TRIGGER audit_record_no_update BEFORE UPDATE OR DELETE ON "
                   "audit_record FOR EACH ROW EXECUTE FUNCTION audit_record_refuse()")
        op.execute("CREATE TRIGGER audit_head_no_delete BEFORE DELETE ON audit_head "
                   "FOR EACH ROW EXECUTE FUNCTION audit_record_refuse()")
        return
    for name, event, table in (("audit_record_no_update", "UPDATE", "audit_record"),
                               ("audit_record_no_delete", "DELETE", "audit_record"),
                               ("audit_head_no_delete", "DELETE", "audit_head")):
        op.execute(f"CREATE TRIGGER {name} BEFORE {event} ON {table} "
                   "BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END")


def _drop_append_only() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_record_no_update ON audit_record")
        op.execute("DROP TRIGGER IF EXISTS audit_head_no_delete ON audit_head")
        op.execute("DROP FUNCTION IF EXISTS audit_record_refuse()")
        return
    for name in ("audit_record_no_update", "audit_record_no_delete", "audit_head_no_delete"):
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
