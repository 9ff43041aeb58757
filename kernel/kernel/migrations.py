"""The body of every service's alembic env.py: one place that knows how to run migrations."""
from alembic import context
from sqlalchemy import MetaData, create_engine


def run(metadata: MetaData) -> None:
    config = context.config
    connection = config.attributes.get("connection")
    if connection is None:  # the alembic CLI, e.g. `alembic revision --autogenerate`
        from kernel.settings import ServiceSettings

        url = config.get_main_option("sqlalchemy.url") or ServiceSettings().sqlalchemy_url
        with create_engine(url).connect() as connection:
            _run(connection, metadata)
            connection.commit()
        return
    _run(connection, metadata)


def _run(connection, metadata: MetaData) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        compare_type=True,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
    )
    with context.begin_transaction():
        context.run_migrations()
