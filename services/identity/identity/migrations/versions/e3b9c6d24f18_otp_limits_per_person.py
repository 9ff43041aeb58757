"""otp limits per person: codes sent and wrong codes counted across transactions, and the challenge's person to count against

Revision ID: e3b9c6d24f18
Revises: b7e4d19c5a02
Create Date: 2026-11-24 09:00:00.000000

Challenges in flight during the upgrade have no limit_key; they expire within OTP_SECONDS and are counted per code only.
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op


revision = 'e3b9c6d24f18'
down_revision = 'b7e4d19c5a02'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('otp_limit',
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('sends', sa.Integer(), nullable=False),
    sa.Column('sends_since', sa.DateTime(timezone=True), nullable=True),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('failures_since', sa.DateTime(timezone=True), nullable=True),
    sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('key')
    )
    with op.batch_alter_table('otp_limit', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_otp_limit_expires_at'), ['expires_at'], unique=False)
    with op.batch_alter_table('otp_challenge', schema=None) as batch_op:
        batch_op.add_column(sa.Column('limit_key', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('otp_challenge', schema=None) as batch_op:
        batch_op.drop_column('limit_key')
    with op.batch_alter_table('otp_limit', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_otp_limit_expires_at'))
    op.drop_table('otp_limit')
