"""kept forms: a form posted after the sign-in ended, kept across the new sign-in

Revision ID: 5c2e8a41d9b7
Revises: 36bd91b3c7d7
Create Date: 2026-12-02 10:00:00.000000
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op


revision = '5c2e8a41d9b7'
down_revision = '36bd91b3c7d7'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('kept_form',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('cookie_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('page', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('fields', sa.JSON(), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('kept_form', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_kept_form_cookie_hash'), ['cookie_hash'], unique=True)


def downgrade() -> None:
    with op.batch_alter_table('kept_form', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_kept_form_cookie_hash'))
    op.drop_table('kept_form')
