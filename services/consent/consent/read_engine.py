"""A lean connection pool for the verification fast path: autocommit, no pre-ping.

The kernel's engine pings each connection on checkout and wraps every statement in BEGIN ... ROLLBACK; for one
read-only SELECT that is three round trips to PostgreSQL instead of one (the profile of the verification call showed
them as most of its time). Without the ping a connection the database dropped fails once, so `read_one` retries a
statement once on a fresh connection when SQLAlchemy reports the old one invalidated.
"""
from sqlalchemy import Executable, Row, create_engine
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from consent.settings import ConsentSettings


def make_read_engine(settings: ConsentSettings, engine: Engine) -> Engine:
    """PostgreSQL: its own autocommit pool; SQLite (development): the kernel's engine, which carries its pragmas."""
    if not settings.is_postgres:
        return engine
    return create_engine(settings.sqlalchemy_url, isolation_level="AUTOCOMMIT", pool_pre_ping=False, pool_reset_on_return=None,
                         pool_size=settings.read_pool_size, max_overflow=settings.read_pool_size, hide_parameters=True)


def read_one(engine: Engine, statement: Executable, parameters: dict) -> Row | None:
    for attempt in (1, 2):
        try:
            with engine.connect() as connection:
                return connection.execute(statement, parameters).first()
        except DBAPIError as exc:
            if attempt == 2 or not exc.connection_invalidated:
                raise
    return None
