"""``open_store(url)``: resolve the URL, connect, bring the schema up to date."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from octsearch.errors import StoreError
from octsearch.store import migrate
from octsearch.store.session import first_line
from octsearch.store.store import Store
from octsearch.store.urls import make_engine, mask_url, resolve_url, sqlite_path


def open_engine(url: str | None = None, *, create: bool = True, read_only: bool = False) -> tuple[Engine, str]:
    """A connected engine for ``url`` and the URL as text without its password.

    A SQLite file that does not exist is created with its directory when ``create``, otherwise
    a StoreError; a server that cannot be reached is a StoreError naming the URL and the reason.
    ``read_only`` leaves a SQLite file's journal mode as it is (setting WAL writes the file).
    """
    resolved = resolve_url(url)
    shown = mask_url(resolved)
    path = sqlite_path(resolved)
    if path is not None and not path.exists():
        if not create:
            raise StoreError(f"no octsearch database at {path} (file does not exist); pass --db URL")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise StoreError(f"cannot create the directory of {shown}: {e.strerror}") from None
    engine = make_engine(resolved, wal=not read_only)
    try:
        with engine.connect() as conn:
            if path is not None:  # reads the header: a file that is no SQLite database fails here
                conn.exec_driver_sql("PRAGMA schema_version")
    except DBAPIError as e:
        engine.dispose()
        raise StoreError(f"cannot open store {shown}: {first_line(e)}") from None
    return engine, shown


def open_store(url: str | None = None, *, create: bool = True, upgrade: bool = True) -> Store:
    """Open the store at ``url`` (see :func:`octsearch.store.urls.resolve_url` for the default).

    Args:
        url: ``sqlite:///PATH`` or ``postgresql://...``; None: ``OCTSEARCH_DB`` or the default.
        create: create a missing SQLite file (and its directory); False raises StoreError.
        upgrade: bring an empty database or one at an older schema revision to the newest
            (every migration so far only adds); False opens it as it is, writing nothing on the
            way (for commands that only read), and raises StoreError if it holds no octsearch
            store or one at another revision.
    """
    engine, shown = open_engine(url, create=create, read_only=not upgrade)
    try:
        with engine.connect() as conn:
            current = migrate.current_revision(conn)
        if current != migrate.HEAD:
            if not upgrade:
                raise _not_current(shown, current)
            migrate.upgrade(engine)
    except DBAPIError as e:
        engine.dispose()
        raise StoreError(f"cannot open store {shown}: {first_line(e)}") from None
    except BaseException:
        engine.dispose()
        raise
    return Store(engine)


def _not_current(shown: str, current: str | None) -> StoreError:
    if current is None:
        return StoreError(f"{shown} holds no octsearch store (no octsearch tables); accepted: a database "
                          "that `octsearch launch` wrote (`octsearch db upgrade --db URL` creates the tables)")
    return StoreError(f"the database {shown} is at schema revision {current}, not {migrate.HEAD}; "
                      "run `octsearch db upgrade --db URL`")


def open_database(url: str | None) -> Store | None:
    """The database at ``url`` as it is, its schema neither checked nor changed, or None where a
    SQLite file does not exist (nothing is created): for reading what other clients keep in it."""
    path = sqlite_path(resolve_url(url))
    if path is not None and not path.exists():
        return None
    engine, _ = open_engine(url, create=False)
    return Store(engine)


def upgrade_database(url: str | None) -> tuple[str, str | None, str]:
    """Bring the database at ``url`` to the newest schema: (the URL shown, revision before or
    None for an empty database, revision after)."""
    engine, shown = open_engine(url)
    try:
        before, after = migrate.upgrade(engine)
    finally:
        engine.dispose()
    return shown, before, after


def database_revision(url: str | None) -> tuple[str, str | None]:
    """(the URL shown, the database's schema revision or None without octsearch tables); reads only."""
    engine, shown = open_engine(url, create=False, read_only=True)
    try:
        with engine.connect() as conn:
            return shown, migrate.current_revision(conn)
    finally:
        engine.dispose()
