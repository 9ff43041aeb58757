"""message log entry id (journal replay dedupe)

Revision ID: 5d1c0e7a9b21
Revises: 41270bbf334d
Create Date: 2026-11-21 07:30:00
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op


revision = '5d1c0e7a9b21'
down_revision = '41270bbf334d'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('message_log', schema=None) as batch_op:
        batch_op.add_column(sa.Column('entry_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True))
        batch_op.create_unique_constraint('uq_message_log_entry_id', ['entry_id'])


def downgrade() -> None:
    with op.batch_alter_table('message_log', schema=None) as batch_op:
        batch_op.drop_constraint('uq_message_log_entry_id', type_='unique')
        batch_op.drop_column('entry_id')
