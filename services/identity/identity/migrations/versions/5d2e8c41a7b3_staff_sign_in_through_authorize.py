"""staff sign-in through authorize: the staff account a transaction authenticated

Revision ID: 5d2e8c41a7b3
Revises: 8084516ca4c3
Create Date: 2026-11-21 07:25:00.000000
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op


revision = '5d2e8c41a7b3'
down_revision = '8084516ca4c3'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('auth_transaction', schema=None) as batch_op:
        batch_op.add_column(sa.Column('staff_account_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('auth_transaction', schema=None) as batch_op:
        batch_op.drop_column('staff_account_id')
