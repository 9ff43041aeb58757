"""subscriptions are ended, not deleted (their deliveries are the events' audit trail); pub/sub sections freed

Revision ID: d7a1f3c95e20
Revises: c4e2a9d17f03
Create Date: 2026-11-23 10:00:00
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op


revision = 'd7a1f3c95e20'
down_revision = 'c4e2a9d17f03'
branch_labels = None
depends_on = None

_KEY = ['room_id', 'event_type', 'subscriber_id']
_COLUMNS = 'id, room_id, event_type, subscriber_id, delivery, push_url, ttl, fifo, created_at, max_attempts, backoff_seconds'
_PG_UNIQUE = 'subscription_room_id_event_type_subscriber_id_key'  # PostgreSQL's name for the unnamed constraint


def _rebuild_on_sqlite(*, ended_at: bool) -> None:
    """SQLite cannot drop or add a constraint, so the table is rebuilt, with ended_at and without the old unique key or
    the other way round. Deliveries reference its rows, and foreign keys cannot be turned off inside the migration's
    transaction: their check is deferred to the commit, and the rows are put back only after the old table is dropped,
    which settles again the references its drop broke."""
    op.execute('PRAGMA defer_foreign_keys = ON')  # until the commit
    op.execute('CREATE TEMPORARY TABLE subscription_rows AS SELECT * FROM subscription')
    op.drop_index('ix_subscription_room_id', table_name='subscription')
    op.drop_index('ix_subscription_subscriber_id', table_name='subscription')
    op.drop_table('subscription')
    op.create_table('subscription',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('room_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('event_type', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('subscriber_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('delivery', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('push_url', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
    sa.Column('ttl', sa.Integer(), nullable=False),
    sa.Column('fifo', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('max_attempts', sa.Integer(), nullable=True),
    sa.Column('backoff_seconds', sa.Float(), nullable=True),
    *([sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True)] if ended_at else [sa.UniqueConstraint(*_KEY)]),
    sa.ForeignKeyConstraint(['room_id'], ['application.id'], ),
    sa.ForeignKeyConstraint(['subscriber_id'], ['application.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_subscription_room_id', 'subscription', ['room_id'], unique=False)
    op.create_index('ix_subscription_subscriber_id', 'subscription', ['subscriber_id'], unique=False)
    op.execute(f'INSERT INTO subscription ({_COLUMNS}) SELECT {_COLUMNS} FROM subscription_rows')
    op.execute('DROP TABLE subscription_rows')


def upgrade() -> None:
    if op.get_bind().dialect.name == 'sqlite':
        _rebuild_on_sqlite(ended_at=True)
    else:
        op.add_column('subscription', sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True))
        op.drop_constraint(_PG_UNIQUE, 'subscription', type_='unique')
    # One open subscription per subscriber and event type; ended ones stay beside it.
    op.create_index('uq_subscription_active', 'subscription', _KEY, unique=True,
                    sqlite_where=sa.text('ended_at IS NULL'), postgresql_where=sa.text('ended_at IS NULL'))
    # An event type named like a section of its room (api, pub, pull) made a service of that name, which hid the section
    # for good; the service is marked removed (as PUT /config does) so the room can reach its API and delete that type.
    op.execute("UPDATE service SET status = 'removed' WHERE code IN ('api', 'pub', 'pull') AND url LIKE 'pubsub:%' "
               "AND status = 'approved'")


def downgrade() -> None:
    # Fails once an application has subscribed again after unsubscribing: its ended rows break the old unique key.
    op.drop_index('uq_subscription_active', table_name='subscription')
    if op.get_bind().dialect.name == 'sqlite':
        _rebuild_on_sqlite(ended_at=False)
    else:
        op.drop_column('subscription', 'ended_at')
        op.create_unique_constraint(_PG_UNIQUE, 'subscription', _KEY)
