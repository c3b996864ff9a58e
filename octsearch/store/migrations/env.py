"""Alembic environment of the octsearch store.

Run programmatically by :mod:`octsearch.store.migrate`, which passes an open connection in
``config.attributes["connection"]``; developers can also run ``alembic -c
octsearch/store/migrations/alembic.ini -x url=sqlite:///dev.db revision --autogenerate -m MSG``.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from octsearch.store.migrate import VERSION_TABLE, include_name
from octsearch.store.models import Base
from octsearch.store.urls import make_engine, resolve_url


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        version_table=VERSION_TABLE,  # not alembic_version: Optuna's storage keeps that one
        include_name=include_name,  # autogenerate never proposes dropping Optuna's tables
        render_as_batch=True,  # SQLite cannot ALTER most things; batch mode copies the table
        transactional_ddl=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    engine = make_engine(resolve_url(context.get_x_argument(as_dictionary=True).get("url")))
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()
