"""the uploaded document's own file name, shown back to the applicant per document slot

Revision ID: c41f0a9d7b2e
Revises: b7e2c91d5a40
Create Date: 2026-11-21 08:20:00.000000
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op


revision = 'c41f0a9d7b2e'
down_revision = 'b7e2c91d5a40'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('document') as batch:
        batch.add_column(sa.Column('file_name', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False, server_default=''))


def downgrade() -> None:
    with op.batch_alter_table('document') as batch:
        batch.drop_column('file_name')
