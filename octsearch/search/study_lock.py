"""Locks between processes on one store database: one driver per search, and one process at a time
creating Optuna's tables.

PostgreSQL: advisory locks (a session lock is released when its connection closes, so a killed
driver frees its search). SQLite has none: POSIX byte-range locks on one file beside the database
(``<file>.octsearch-lock``), released by the kernel when the process ends. POSIX locks of a process
are dropped when it closes *any* descriptor of the file, so each process keeps one descriptor per
lock file open for its lifetime.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import text

from octsearch.errors import ConfigError
from octsearch.store.connect import store_engine
from octsearch.store.urls import sqlite_path

if TYPE_CHECKING:
    from octsearch.store import Store

_NAMESPACE = 0x0C75  # first key of octsearch's two-key advisory locks
_CREATE_TABLES = 1  # second key (and byte 0 of the lock file): creating Optuna's tables
_descriptors: dict[Path, int] = {}


def _key(search: str) -> int:
    """A search's lock: a 31-bit number from its name (the byte offset in the lock file)."""
    return 2 + int.from_bytes(hashlib.sha256(search.encode()).digest()[:4], "big") % (2**31 - 2)


def _lock_file(store: Store) -> int | None:
    path = sqlite_path(store_engine(store).url)
    if path is None:
        return None
    path = Path(f"{path}.octsearch-lock").resolve()
    if path not in _descriptors:
        _descriptors[path] = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    return _descriptors[path]


@contextlib.contextmanager
def storage_lock(store: Store) -> Iterator[None]:
    """Wait for, then hold, the lock for creating Optuna's tables (concurrent creations race)."""
    import fcntl

    if store_engine(store).url.get_backend_name() == "postgresql":
        with store_engine(store).connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:a, :b)"), {"a": _NAMESPACE, "b": _CREATE_TABLES})
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:a, :b)"), {"a": _NAMESPACE, "b": _CREATE_TABLES})
        return
    fd = _lock_file(store)
    if fd is None:
        yield
        return
    fcntl.lockf(fd, fcntl.LOCK_EX, 1, 0)
    try:
        yield
    finally:
        fcntl.lockf(fd, fcntl.LOCK_UN, 1, 0)


@contextlib.contextmanager
def hold_search(store: Store, search: str) -> Iterator[None]:
    """Hold search ``search`` for this driver; ConfigError at once if another process runs it.

    Two drivers of one search would each keep their own record of what is in flight (and train
    a configuration twice) and interleave two samplers' generations in one study: the second
    launch is refused instead, with one line."""
    refused = ConfigError(f"search {search!r} is being run by another octsearch launch on {store.url}; "
                          "accepted: wait for it to end (or stop it), or another --name")
    if store_engine(store).url.get_backend_name() == "postgresql":
        with store_engine(store).connect() as conn:
            args = {"a": _NAMESPACE, "b": _key(search)}
            if not conn.execute(text("SELECT pg_try_advisory_lock(:a, :b)"), args).scalar():
                raise refused
            conn.commit()  # the lock is the session's; end the transaction that took it
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:a, :b)"), args)
                conn.commit()
        return
    yield from _hold_file(store, search, refused)


def _hold_file(store: Store, search: str, refused: ConfigError) -> Iterator[None]:
    import fcntl

    fd = _lock_file(store)
    if fd is None:
        yield
        return
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, _key(search))
    except OSError:
        raise refused from None
    try:
        yield
    finally:
        fcntl.lockf(fd, fcntl.LOCK_UN, 1, _key(search))
