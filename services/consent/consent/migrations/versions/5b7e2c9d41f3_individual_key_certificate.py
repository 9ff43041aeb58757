"""individual key certificate: the Identity BB's wallet-binding certificate for the citizen's signing key

Revision ID: 5b7e2c9d41f3
Revises: 03872534531a
Create Date: 2026-11-21 07:50:00.000000
"""
import sqlalchemy as sa
from alembic import op


revision = '5b7e2c9d41f3'
down_revision = '03872534531a'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('individual', sa.Column('public_key_certificate', sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column('individual', 'public_key_certificate')
