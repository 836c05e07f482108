"""reconciliation keeps what it judged: each row's keys, digest and time class

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02 13:00:00.000000
"""

from alembic import op
import sqlalchemy as sa


revision = '0016'
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision (empty: the next reconciliation runs whole and fills them)."""
    op.create_table(
        'reconcile_key',
        sa.Column('side', sa.String(length=1), nullable=False),
        sa.Column('cat', sa.String(length=32), nullable=False),
        sa.Column('row_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('tag', sa.String(length=2), nullable=False),
        sa.Column('value', sa.String(length=255), nullable=False),
        sa.PrimaryKeyConstraint('side', 'cat', 'row_id', 'tag', 'value'))
    with op.batch_alter_table('reconcile_key') as batch:
        batch.create_index('ix_reconcile_key_tag_value', ['tag', 'value'], unique=False)
    op.create_table(
        'reconcile_row',
        sa.Column('side', sa.String(length=1), nullable=False),
        sa.Column('cat', sa.String(length=32), nullable=False),
        sa.Column('row_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('digest', sa.String(length=32), nullable=False),
        sa.Column('tclass', sa.Integer(), nullable=False),
        sa.Column('entity', sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint('side', 'cat', 'row_id'))
    op.create_table(
        'reconcile_state',
        sa.Column('name', sa.String(length=32), nullable=False),
        sa.Column('value', sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint('name'))
    with op.batch_alter_table('reconcile_pair') as batch:
        batch.create_index('ix_reconcile_pair_declared', ['declared_category', 'declared_id'],
                           unique=False)
    if op.get_bind().dialect.name == "postgresql":
        # Every run moves the pairs' seen times and the active findings' last_seen (no
        # index covers them): room on each page lets PostgreSQL update them in place
        # (heap-only tuples) instead of adding an entry to every index per row.
        for table in ('reconcile_pair', 'finding'):
            op.execute(f"ALTER TABLE {table} SET (fillfactor = 70)")


def downgrade() -> None:
    """Revert this revision."""
    if op.get_bind().dialect.name == "postgresql":
        for table in ('reconcile_pair', 'finding'):
            op.execute(f"ALTER TABLE {table} RESET (fillfactor)")
    with op.batch_alter_table('reconcile_pair') as batch:
        batch.drop_index('ix_reconcile_pair_declared')
    op.drop_table('reconcile_state')
    op.drop_table('reconcile_row')
    with op.batch_alter_table('reconcile_key') as batch:
        batch.drop_index('ix_reconcile_key_tag_value')
    op.drop_table('reconcile_key')
