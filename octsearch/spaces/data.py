"""The data section of a space, resolved, and the loaded data set: one copy per node, mapped.

A Ray worker with ``reuse_actors`` runs many trials of one space: the data set is opened once per
process and key (name, split seed, fraction, limit, size, root, options). Its uint8 splits are the
node's shared copy (:mod:`octsearch.data.shared`), written by the first process that needs them and
mapped read-only by every other; a prepared set is read in place.
"""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from octsearch.errors import SpaceError

if TYPE_CHECKING:
    from octsearch.data import ImageDataset

_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True)
class DataSpec:
    """What ``load_dataset`` gets for a space.

    Attributes:
        root: the root as written in the file (``${VAR}`` expanded at load time, relative paths
            read from ``base_dir``, the space file's directory).
        file: the space file's name, for error messages.
    """

    name: str
    seed: int
    val_fraction: float
    limit: int | None
    image_size: int | None
    root: str | None
    options: tuple[tuple[str, Any], ...]
    base_dir: str
    file: str

    def resolved_root(self) -> str | None:
        """The root directory with environment variables expanded (an unset one is an error)."""
        if self.root is None:
            return None

        def expand(match: re.Match[str]) -> str:
            value = os.environ.get(match.group(1))
            if not value:
                raise SpaceError(
                    f"{self.file}: data.root: environment variable {match.group(1)} is not set; "
                    f"set it to the directory of the {self.name} files, or write the path in data.root"
                )
            return value

        path = Path(_ENV.sub(expand, self.root)).expanduser()
        return str(path if path.is_absolute() else Path(self.base_dir) / path)

    def load(self) -> ImageDataset:
        """The data set (cached in-process)."""
        return _load(self.name, self.seed, self.val_fraction, self.limit, self.image_size,
                     self.resolved_root(), self.options)


@functools.lru_cache(maxsize=4)
def _load(name: str, seed: int, val_fraction: float, limit: int | None, image_size: int | None,
          root: str | None, options: tuple[tuple[str, Any], ...]) -> ImageDataset:
    from octsearch.data import dataset_info, load_dataset
    from octsearch.data.shared import cache_key, shared_dataset, source_fingerprint

    def load() -> ImageDataset:
        return load_dataset(name, seed=seed, val_fraction=val_fraction, image_size=image_size,
                            root=root, limit=limit, **dict(options))

    if dataset_info(name).in_place:
        return load()
    key = cache_key({"name": name, "seed": seed, "val_fraction": val_fraction, "limit": limit,
                     "image_size": image_size, "root": root, "options": list(options),
                     "files": source_fingerprint(root)})
    return shared_dataset(key, load)
