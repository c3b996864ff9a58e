"""Files a command writes for the user (a plot, JSON, CSV): checked before any work, written whole.

:func:`check_writable` answers "can this file be written?" before a command computes anything, so a
bad path is one line and nothing else happened. :func:`write_whole` writes to a temporary file in
the same directory and renames it into place: a reader sees the old file or the new one, never a
half-written one, and a failed write leaves no temporary file behind.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from octsearch.errors import ConfigError


def check_writable(path: str | Path, what: str, suffix: str | None = None) -> Path:
    """``path`` if a ``what`` file can be written there (its directory exists and is writable, it
    is not a directory, it ends in ``suffix`` when given); else a one-line ConfigError."""
    path = Path(path)
    if suffix is not None and path.suffix.lower() != suffix:
        raise ConfigError(f"{what} file {str(path)!r} must end in {suffix}")
    folder = path.parent
    if path.is_dir():
        raise ConfigError(f"cannot write {what} file {str(path)!r}: it is a directory")
    if not folder.is_dir():
        raise ConfigError(f"cannot write {what} file {str(path)!r}: directory {str(folder)!r} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise ConfigError(f"cannot write {what} file {str(path)!r}: permission denied")
    return path


def write_whole(path: str | Path, write: Callable[[Path], None], what: str) -> Path:
    """Call ``write(temporary path)`` and rename the result onto ``path`` (same directory)."""
    path = Path(path)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp{path.suffix}")
    try:
        write(temporary)
        os.replace(temporary, path)
    except OSError as e:
        raise ConfigError(f"cannot write {what} file {str(path)!r}: {e.strerror or e}") from None
    finally:
        temporary.unlink(missing_ok=True)
    return path


def write_text(path: str | Path, text: str, what: str) -> Path:
    """Write ``text`` (UTF-8) whole, see :func:`write_whole`."""
    return write_whole(path, lambda p: p.write_text(text, encoding="utf-8"), what)
