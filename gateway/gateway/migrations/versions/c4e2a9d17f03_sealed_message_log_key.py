"""message log signing key sealed at rest

Revision ID: c4e2a9d17f03
Revises: 8a3f6b2c4d10
Create Date: 2026-11-21 10:20:00
"""
import sqlalchemy as sa
from alembic import op


revision = 'c4e2a9d17f03'
down_revision = '8a3f6b2c4d10'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Keys stored in the clear before this are sealed by the gateway on its next start (it holds the secret, alembic not).
    with op.batch_alter_table('signing_key', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sealed_private_jwk', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('public_jwk', sa.JSON(), nullable=True))
        batch_op.alter_column('private_jwk', existing_type=sa.JSON(), nullable=True)


def downgrade() -> None:
    with op.batch_alter_table('signing_key', schema=None) as batch_op:
        batch_op.alter_column('private_jwk', existing_type=sa.JSON(), nullable=False)
        batch_op.drop_column('public_jwk')
        batch_op.drop_column('sealed_private_jwk')
