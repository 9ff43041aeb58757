"""subscription retry strategy (max attempts, backoff); application client certificate (mutual TLS)

Revision ID: 8a3f6b2c4d10
Revises: 5d1c0e7a9b21
Create Date: 2026-11-21 07:40:00
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op


revision = '8a3f6b2c4d10'
down_revision = '5d1c0e7a9b21'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('subscription', schema=None) as batch_op:
        batch_op.add_column(sa.Column('max_attempts', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('backoff_seconds', sa.Float(), nullable=True))
    with op.batch_alter_table('application', schema=None) as batch_op:
        batch_op.add_column(sa.Column('tls_client_cert', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('application', schema=None) as batch_op:
        batch_op.drop_column('tls_client_cert')
    with op.batch_alter_table('subscription', schema=None) as batch_op:
        batch_op.drop_column('backoff_seconds')
        batch_op.drop_column('max_attempts')
