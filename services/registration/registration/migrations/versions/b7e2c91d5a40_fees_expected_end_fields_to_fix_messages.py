"""fees, expected end and fields to fix on application files; file messages

Revision ID: b7e2c91d5a40
Revises: 4cd84da36e7f
Create Date: 2026-11-21 07:30:00.000000
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op


revision = 'b7e2c91d5a40'
down_revision = '4cd84da36e7f'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('application_file') as batch:
        batch.add_column(sa.Column('fees', sa.JSON(), nullable=False, server_default='{}'))
        batch.add_column(sa.Column('expected_end', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('fields_to_fix', sa.JSON(), nullable=False, server_default='[]'))
    op.create_table('file_message',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('file_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('author_id', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('author_kind', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('role_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('text', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.ForeignKeyConstraint(['file_id'], ['application_file.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_file_message_file_id'), 'file_message', ['file_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_file_message_file_id'), table_name='file_message')
    op.drop_table('file_message')
    with op.batch_alter_table('application_file') as batch:
        batch.drop_column('fields_to_fix')
        batch.drop_column('expected_end')
        batch.drop_column('fees')
