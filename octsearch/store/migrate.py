"""Schema versions: run the packaged Alembic migrations without an alembic.ini."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import Connection, Engine, inspect, text

from octsearch.errors import StoreError
from octsearch.store.urls import WRITE_OPTION, mask_url

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
# Not Alembic's default name: Optuna's RDB storage keeps its own alembic_version table and may
# share the database with us.
VERSION_TABLE = "octsearch_alembic_version"
_PG_LOCK_KEY = 0x0C75EA4C  # advisory lock serialising concurrent upgrades on PostgreSQL
# The newest revision, spelled out so that opening a current database does not import Alembic
# (a test checks it against the migration scripts).
HEAD = "0006"


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    """Alembic's filter: only octsearch's tables are compared and migrated (Optuna's ``studies``,
    ``trials``, ... and its ``alembic_version`` may share the database)."""
    return type_ != "table" or (name or "").startswith("octsearch_")


def _config(connection: Connection | None = None):  # -> alembic.config.Config
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def script_head() -> str:
    """The newest revision according to the migration scripts (imports Alembic)."""
    from alembic.script import ScriptDirectory

    heads = ScriptDirectory.from_config(_config()).get_heads()
    return heads[0]


def known_revisions() -> list[str]:
    from alembic.script import ScriptDirectory

    return [s.revision for s in ScriptDirectory.from_config(_config()).walk_revisions()]


def current_revision(connection: Connection) -> str | None:
    """The database's revision, or None for a database without octsearch tables."""
    if not inspect(connection).has_table(VERSION_TABLE):
        return None
    return connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()


@contextlib.contextmanager
def _foreign_keys_off(conn: Connection) -> Iterator[None]:
    """SQLite: foreign keys off while migrations run. Changing a constraint makes SQLite copy a
    table, and dropping the old copy with foreign keys on would cascade (every evaluation of every
    trial deleted). The pragma is a no-op inside a transaction, so it is set on the connection
    before the migration's transaction begins; :func:`_check_foreign_keys` runs inside it."""
    if conn.dialect.name != "sqlite":
        yield
        return
    raw = conn.connection.driver_connection  # isolation_level None: no transaction is open
    raw.execute("PRAGMA foreign_keys = OFF")
    try:
        yield
    finally:
        raw.execute("PRAGMA foreign_keys = ON")


def _check_foreign_keys(conn: Connection) -> None:
    """Before the migration commits: every row still has its parent (else it rolls back)."""
    if conn.dialect.name == "sqlite":
        broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        if broken:
            raise StoreError(f"the schema migration would leave {len(broken)} rows without their parent row; "
                             "nothing was changed")


def upgrade(engine: Engine, revision: str = "head") -> tuple[str | None, str]:
    """Upgrade the database to ``revision``; returns (revision before, revision after).

    Concurrent upgrades are serialised (PostgreSQL advisory lock; SQLite's write lock), so two
    searches opening a new database at once do not both create the tables.
    """
    from alembic import command

    with engine.connect() as conn, _foreign_keys_off(conn):
        conn.execution_options(**{WRITE_OPTION: True})
        with conn.begin():
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})
            before = current_revision(conn)
            if before is not None and before not in known_revisions():
                raise StoreError(
                    f"the database {mask_url(engine.url)} is at schema revision {before!r}, "
                    f"newer than this octsearch knows (newest {HEAD!r}); "
                    "upgrade octsearch"
                )
            command.upgrade(_config(conn), revision)
            _check_foreign_keys(conn)
            after = current_revision(conn)
    return before, after or ""


def downgrade(engine: Engine, revision: str) -> None:
    """Take the schema back to ``revision`` (for developers and tests; may drop data)."""
    from alembic import command

    with engine.connect() as conn, _foreign_keys_off(conn):
        conn.execution_options(**{WRITE_OPTION: True})
        with conn.begin():
            command.downgrade(_config(conn), revision)
            _check_foreign_keys(conn)
