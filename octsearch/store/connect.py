"""``open_store(url)``: resolve the URL, connect, bring the schema up to date."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError

from octsearch.errors import StoreError
from octsearch.store import migrate
from octsearch.store.session import first_line
from octsearch.store.store import Store
from octsearch.store.urls import make_engine, mask_url, resolve_url, sqlite_path


def open_engine(url: str | None = None, *, create: bool = True) -> tuple[Engine, str]:
    """A connected engine for ``url`` and the URL as text without its password.

    A SQLite file that does not exist is created with its directory when ``create``, otherwise
    a StoreError; a server that cannot be reached is a StoreError naming the URL and the reason.
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
    engine = make_engine(resolved)
    try:
        with engine.connect():
            pass
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
            (every migration so far only adds); False raises StoreError if it is not current.
    """
    engine, shown = open_engine(url, create=create)
    try:
        with engine.connect() as conn:
            current = migrate.current_revision(conn)
        if current != migrate.HEAD:
            if not upgrade:
                raise StoreError(
                    f"the database {shown} is at schema revision {current or 'none'}, not "
                    f"{migrate.HEAD}; run `octsearch db upgrade --db URL`"
                )
            migrate.upgrade(engine)
    except DBAPIError as e:
        engine.dispose()
        raise StoreError(f"cannot open store {shown}: {first_line(e)}") from None
    except BaseException:
        engine.dispose()
        raise
    return Store(engine)


def store_engine(store: Store) -> Engine:
    """The engine a store was opened on (for code beside the store on the same database: Optuna's
    storage, locks between processes)."""
    return store._engine  # noqa: SLF001 (the store package's own)


def store_url(store: Store) -> URL:
    """The store's URL with its password (to open another connection to the same database)."""
    return store_engine(store).url
