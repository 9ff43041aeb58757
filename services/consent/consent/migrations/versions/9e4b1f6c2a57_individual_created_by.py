"""individual registered by (OIDC client)

Revision ID: 9e4b1f6c2a57
Revises: 7c1d4e2a9b60
Create Date: 2026-11-21 11:00:00
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op


revision = '9e4b1f6c2a57'
down_revision = '7c1d4e2a9b60'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Individuals registered before this have no registering client: administrators still see them, applications not.
    with op.batch_alter_table('individual', schema=None) as batch_op:
        batch_op.add_column(sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True))
        batch_op.create_index(batch_op.f('ix_individual_created_by'), ['created_by'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('individual', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_individual_created_by'))
        batch_op.drop_column('created_by')
