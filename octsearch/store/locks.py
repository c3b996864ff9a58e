"""Named locks between processes on one store database.

PostgreSQL: advisory locks (a session lock is released when its connection closes, so a killed
holder frees it). SQLite has none: POSIX byte-range locks on one file beside the database
(``<file>.octsearch-lock``), released by the kernel when the process ends. POSIX locks of a process
are dropped when it closes *any* descriptor of the file, so each process keeps one descriptor per
lock file open for its lifetime. A database that is neither (an in-memory SQLite) needs no lock.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import Engine, text

from octsearch.errors import OctsearchError
from octsearch.store.urls import sqlite_path

_NAMESPACE = 0x0C75  # first key of octsearch's two-key advisory locks
_descriptors: dict[Path, int] = {}


class LockTaken(OctsearchError):
    """Another process holds the lock (raised only when not waiting for it)."""


def _key(name: str) -> int:
    """A lock's 31-bit number from its name (also its byte offset in the lock file)."""
    return 1 + int.from_bytes(hashlib.sha256(name.encode()).digest()[:4], "big") % (2**31 - 1)


def _lock_file(engine: Engine) -> int | None:
    path = sqlite_path(engine.url)
    if path is None:
        return None
    path = Path(f"{path}.octsearch-lock").resolve()
    if path not in _descriptors:
        _descriptors[path] = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    return _descriptors[path]


@contextlib.contextmanager
def hold(engine: Engine, name: str, *, wait: bool) -> Iterator[None]:
    """Hold lock ``name`` on ``engine``'s database: wait for it, or raise LockTaken at once."""
    key = _key(name)
    if engine.url.get_backend_name() == "postgresql":
        yield from _hold_advisory(engine, name, key, wait)
        return
    import fcntl

    fd = _lock_file(engine)
    if fd is None:
        yield
        return
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB), 1, key)
    except OSError:
        raise LockTaken(name) from None
    try:
        yield
    finally:
        fcntl.lockf(fd, fcntl.LOCK_UN, 1, key)


def _hold_advisory(engine: Engine, name: str, key: int, wait: bool) -> Iterator[None]:
    args = {"a": _NAMESPACE, "b": key}
    with engine.connect() as conn:
        if wait:
            conn.execute(text("SELECT pg_advisory_lock(:a, :b)"), args)
        elif not conn.execute(text("SELECT pg_try_advisory_lock(:a, :b)"), args).scalar():
            raise LockTaken(name)
        conn.commit()  # the lock is the session's; end the transaction that took it
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:a, :b)"), args)
            conn.commit()
