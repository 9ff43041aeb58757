"""client names per language: the name a relying party registered for each UI language (clientName#lo)

Revision ID: b7e4d19c5a02
Revises: a41f7c2e9b60
Create Date: 2026-11-22 09:00:00.000000

Clients registered before this have none, so their pages keep showing client_name.
"""
import sqlalchemy as sa
from alembic import op


revision = 'b7e4d19c5a02'
down_revision = 'a41f7c2e9b60'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('oidc_client', schema=None) as batch_op:
        batch_op.add_column(sa.Column('client_names', sa.JSON(), server_default='{}', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('oidc_client', schema=None) as batch_op:
        batch_op.drop_column('client_names')
