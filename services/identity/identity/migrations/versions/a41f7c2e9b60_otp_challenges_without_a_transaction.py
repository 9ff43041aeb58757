"""otp challenges without a transaction: wallet-binding codes have none, so the foreign key goes

Revision ID: a41f7c2e9b60
Revises: 5d2e8c41a7b3
Create Date: 2026-11-21 08:00:00.000000

The table is recreated rather than altered: its foreign key has no name to drop on SQLite, and its rows are codes that
live three minutes (a code in flight during the upgrade is lost; the person asks for another).
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op


revision = 'a41f7c2e9b60'
down_revision = '5d2e8c41a7b3'
branch_labels = None
depends_on = None


def _create(*constraints) -> None:
    op.create_table('otp_challenge',
    sa.Column('transaction_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('person_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
    sa.Column('otp_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('sends', sa.Integer(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    *constraints,
    sa.PrimaryKeyConstraint('transaction_id')
    )
    with op.batch_alter_table('otp_challenge', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_otp_challenge_expires_at'), ['expires_at'], unique=False)


def _drop() -> None:
    with op.batch_alter_table('otp_challenge', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_otp_challenge_expires_at'))
    op.drop_table('otp_challenge')


def upgrade() -> None:
    _drop()
    _create()


def downgrade() -> None:
    _drop()
    _create(sa.ForeignKeyConstraint(['transaction_id'], ['auth_transaction.id'], ))
