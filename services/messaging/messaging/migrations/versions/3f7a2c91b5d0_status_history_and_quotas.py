"""status history (append-only), quotas per api key, message count per request

Revision ID: 3f7a2c91b5d0
Revises: 9c0d88e9134e
Create Date: 2026-11-21 07:20:00.000000
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op


revision = '3f7a2c91b5d0'
down_revision = '9c0d88e9134e'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('message_status_event',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('message_id', sa.String(length=36), nullable=False),
    sa.Column('attempt', sa.Integer(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('detail', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['message_id'], ['message.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('message_status_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_message_status_event_message_id'), ['message_id'], unique=False)

    # The history starts with each message's current state (its earlier transitions were not kept).
    op.execute("INSERT INTO message_status_event (message_id, attempt, status, source, detail, at) "
               "SELECT id, attempts, status, 'migration', last_error, updated_at FROM message")

    with op.batch_alter_table('api_key', schema=None) as batch_op:
        batch_op.add_column(sa.Column('messages_per_minute', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('messages_per_day', sa.Integer(), nullable=True))

    with op.batch_alter_table('send_request', schema=None) as batch_op:
        batch_op.add_column(sa.Column('message_count', sa.Integer(), nullable=False, server_default='1'))
        batch_op.create_index('ix_send_request_caller_created', ['caller', 'created_at'], unique=False)
    op.execute("UPDATE send_request SET message_count = (SELECT count(*) FROM message WHERE message.request_id = send_request.id)")


def downgrade() -> None:
    with op.batch_alter_table('send_request', schema=None) as batch_op:
        batch_op.drop_index('ix_send_request_caller_created')
        batch_op.drop_column('message_count')
    with op.batch_alter_table('api_key', schema=None) as batch_op:
        batch_op.drop_column('messages_per_day')
        batch_op.drop_column('messages_per_minute')
    with op.batch_alter_table('message_status_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_message_status_event_message_id'))
    op.drop_table('message_status_event')
