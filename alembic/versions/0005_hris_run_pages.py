"""HRIS snapshot runs note the people they saw per page, not per person

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 10:15:55.273073

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision: str = '0005'
down_revision: Union[str, Sequence[str], None] = '0004'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """One row per page of a snapshot run; open runs keep what they have seen (as one page,
    whose id is the run's)."""
    op.create_table('hris_run_pages',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('run_id', sa.Uuid(), nullable=False),
    sa.Column('external_ids', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['hris_runs.id'], name=op.f('fk_hris_run_pages_run_id_hris_runs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hris_run_pages'))
    )
    with op.batch_alter_table('hris_run_pages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_hris_run_pages_run_id'), ['run_id'], unique=False)

    aggregate = "jsonb_agg" if op.get_bind().dialect.name == "postgresql" else "json_group_array"
    op.execute(
        "INSERT INTO hris_run_pages (id, run_id, external_ids) "
        f"SELECT run_id, run_id, {aggregate}(external_id) FROM hris_run_entries GROUP BY run_id"
    )
    op.drop_table('hris_run_entries')


def downgrade() -> None:
    """Back to one row per person seen."""
    op.create_table('hris_run_entries',
    sa.Column('run_id', sa.Uuid(), nullable=False),
    sa.Column('external_id', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['hris_runs.id'], name=op.f('fk_hris_run_entries_run_id_hris_runs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('run_id', 'external_id', name=op.f('pk_hris_run_entries'))
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "INSERT INTO hris_run_entries (run_id, external_id) "
            "SELECT DISTINCT run_id, jsonb_array_elements_text(external_ids) FROM hris_run_pages"
        )
    else:
        op.execute(
            "INSERT INTO hris_run_entries (run_id, external_id) "
            "SELECT DISTINCT p.run_id, j.value FROM hris_run_pages AS p, json_each(p.external_ids) AS j"
        )
    with op.batch_alter_table('hris_run_pages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_hris_run_pages_run_id'))

    op.drop_table('hris_run_pages')
