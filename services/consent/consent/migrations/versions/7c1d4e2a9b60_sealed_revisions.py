"""sealed revisions: per-object revision numbers, a seal per revision, the audit key that makes them, erased-chain receipts

Revision ID: 7c1d4e2a9b60
Revises: 5b7e2c9d41f3
Create Date: 2026-11-21 10:30:00.000000
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op


revision = '7c1d4e2a9b60'
down_revision = '5b7e2c9d41f3'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('audit_key',
                    sa.Column('kid', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
                    sa.Column('public_jwk', sa.JSON(), nullable=False),
                    sa.Column('sealed_private_jwk', sa.Text(), nullable=False),
                    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
                    sa.PrimaryKeyConstraint('kid'))
    op.create_table('erased_chain',
                    sa.Column('schema_name', sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
                    sa.Column('object_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
                    sa.Column('number', sa.Integer(), nullable=False),
                    sa.Column('revision_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
                    sa.Column('erased_at', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
                    sa.Column('seal', sa.Text(), nullable=False),
                    sa.PrimaryKeyConstraint('schema_name', 'object_id'))
    op.add_column('revision', sa.Column('number', sa.Integer(), nullable=True))
    op.add_column('revision', sa.Column('seal', sa.Text(), nullable=True))
    # Existing revisions get their place in their object's chain; they stay unsealed until the first audit key is
    # made (seal.py: only chains that verify are sealed then).
    op.execute("UPDATE revision SET number = ranked.n FROM (SELECT seq, row_number() OVER "
               "(PARTITION BY schema_name, object_id ORDER BY seq) AS n FROM revision) AS ranked WHERE revision.seq = ranked.seq")


def downgrade() -> None:
    op.drop_column('revision', 'seal')
    op.drop_column('revision', 'number')
    op.drop_table('erased_chain')
    op.drop_table('audit_key')
