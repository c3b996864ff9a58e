"""Find search-space files: a path, or the name of a shipped space.

Shipped spaces are the ``*.yaml`` files of ``$OCTSEARCH_SPACES_DIR`` (if set), then of the
repository's ``search_spaces/`` directory (a checkout or an editable install), then of
``<prefix>/share/octsearch/search_spaces`` (where a wheel install puts them); the first directory
wins for a name found in several.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from octsearch.errors import SpaceError, UnknownNameError

ENV_DIR = "OCTSEARCH_SPACES_DIR"


@dataclass(frozen=True)
class ShippedSpace:
    name: str
    path: Path
    description: str


def space_dirs() -> list[Path]:
    """Directories searched for shipped spaces, in order."""
    import octsearch

    dirs = []
    env = os.environ.get(ENV_DIR)
    if env:
        dirs.append(Path(env).expanduser())
    dirs.append(Path(octsearch.__file__).resolve().parents[1] / "search_spaces")
    dirs.append(Path(sys.prefix) / "share" / "octsearch" / "search_spaces")
    return dirs


def shipped_paths() -> dict[str, Path]:
    """name -> file of every shipped space."""
    found: dict[str, Path] = {}
    for directory in space_dirs():
        if directory.is_dir():
            for path in sorted(directory.glob("*.yaml")):
                found.setdefault(path.stem, path)
    return found


def list_spaces() -> list[ShippedSpace]:
    """The shipped spaces with their one-line descriptions (read with the bounded loader, not
    validated; a file that cannot be read, or nests too deeply, is listed as unreadable)."""
    import yaml

    from octsearch.spaces._yaml import safe_load

    out = []
    for name, path in sorted(shipped_paths().items()):
        try:
            raw = safe_load(path.read_text(encoding="utf-8"))
            description = str(raw.get("description", "")) if isinstance(raw, dict) else ""
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
            description = f"(unreadable: {type(e).__name__})"
        out.append(ShippedSpace(name, path, " ".join(description.split())))
    return out


def find_space(space: str | os.PathLike[str]) -> Path:
    """The file of ``space``: an existing path wins, else a shipped space of that name."""
    path = Path(space).expanduser()
    if path.is_file():
        return path
    text = str(space)
    shipped = shipped_paths()
    if text in shipped:
        return shipped[text]
    if path.exists():
        raise SpaceError(f"space {text!r} is a directory; accepted: a YAML file or a shipped space name")
    if os.sep in text or text.endswith((".yaml", ".yml")):
        raise SpaceError(f"space file {text!r} does not exist; accepted: a YAML file or a shipped space name ({', '.join(sorted(shipped)) or 'none'})")
    listed = ", ".join(sorted(shipped)) or "(none)"
    raise UnknownNameError(f"unknown space {text!r}; choose one of: {listed}, or give a path to a YAML file")
