"""Database URLs: the one place that knows which backends the store accepts.

Resolution order: an explicit URL (``--db``) > the ``OCTSEARCH_DB`` environment variable >
``sqlite:///<user data dir>/octsearch.db``. ``postgresql://`` (and ``postgres://``) use the
psycopg 3 driver. SQLite runs in WAL mode with a busy timeout, so a reader can query while a
search writes; write transactions start with ``BEGIN IMMEDIATE`` so two writers queue instead of
failing on a lock upgrade.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from octsearch.errors import StoreError

ENV_VAR = "OCTSEARCH_DB"
ACCEPTED = "sqlite:///PATH, postgresql://USER[:PASSWORD]@HOST[:PORT]/DBNAME"
SQLITE_BUSY_TIMEOUT_MS = 30_000
WRITE_OPTION = "octsearch_write"  # execution option: this transaction will write


def default_url() -> str:
    """The SQLite file under the user's data directory (platformdirs)."""
    from platformdirs import user_data_dir

    return f"sqlite:///{Path(user_data_dir('octsearch')) / 'octsearch.db'}"


def resolve_url(url: str | None = None) -> URL:
    """Turn ``--db`` / ``OCTSEARCH_DB`` / the default into a SQLAlchemy URL with our driver."""
    text = url or os.environ.get(ENV_VAR) or default_url()
    try:
        parsed = make_url(text)
    except ArgumentError:
        raise StoreError(f"cannot parse database URL {text!r}; accepted: {ACCEPTED}") from None
    if parsed.drivername in ("sqlite", "sqlite+pysqlite"):
        if "\x00" in (parsed.database or ""):
            raise StoreError(f"database URL {text!r} has a NUL character in its path; accepted: {ACCEPTED}")
        return parsed.set(drivername="sqlite+pysqlite")
    if parsed.drivername in ("postgresql", "postgres", "postgresql+psycopg"):
        return parsed.set(drivername="postgresql+psycopg")
    raise StoreError(
        f"unsupported database URL {mask_url(parsed)!r} (scheme {parsed.drivername!r}); "
        f"accepted: {ACCEPTED}"
    )


def mask_url(url: URL | str) -> str:
    """The URL as text with its password replaced by ``***`` (and without our driver name)."""
    try:
        parsed = make_url(url)
        return parsed.set(drivername=parsed.get_backend_name()).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparsable URL>"


def sqlite_path(url: URL) -> Path | None:
    """The file of a SQLite URL, or None for an in-memory database or another backend."""
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return Path(url.database)


def make_engine(url: URL, *, wal: bool = True) -> Engine:
    """An engine for a resolved URL, with the SQLite pragmas and transaction control set;
    ``wal=False`` leaves a SQLite file's journal mode as it is (for readers: switching an empty
    file to WAL writes its header)."""
    kwargs: dict[str, Any] = {}
    if url.get_backend_name() == "postgresql":
        kwargs["pool_pre_ping"] = True
        kwargs["connect_args"] = {"connect_timeout": 10}
    engine = create_engine(url, **kwargs)
    if url.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_connect if wal else _sqlite_connect_as_is)
        event.listen(engine, "begin", _sqlite_begin)
    return engine


def _sqlite_connect(dbapi_connection: Any, _record: Any, wal: bool = True) -> None:
    dbapi_connection.isolation_level = None  # we emit BEGIN ourselves (see _sqlite_begin)
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
    if wal:
        cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.close()


def _sqlite_connect_as_is(dbapi_connection: Any, record: Any) -> None:
    _sqlite_connect(dbapi_connection, record, wal=False)


def _sqlite_begin(connection: Any) -> None:
    # A deferred transaction that reads and then writes fails at once with SQLITE_BUSY when
    # another writer committed in between; IMMEDIATE takes the write lock up front and waits.
    write = connection.get_execution_options().get(WRITE_OPTION, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")
