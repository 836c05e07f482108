"""Alembic environment: migrations run on the engine handed in by ``ledger.db``."""

from alembic import context

from ledger.models import Base
import ledger.census.tables  # noqa: F401  (registers the census tables on Base.metadata)
import ledger.identity.tables  # noqa: F401  (and the identity tables)
import ledger.alert_tables  # noqa: F401  (and the alert tables)

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    """Run migrations on the engine in ``config.attributes['engine']``."""
    engine = config.attributes["engine"]
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata,
                          render_as_batch=connection.dialect.name == "sqlite")
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


run_migrations_online()
