"""One copy of a loaded data set per node, shared by every trial on it.

The first process to need a data set loads it (split, resized, uint8) and writes its splits once
into a cache directory, keyed by everything that decides them (the data section's values, the
source files' names, sizes and modification times, :data:`CACHE_VERSION`). Every trial then maps
the files read-only (``np.load(mmap_mode="r")``): the pages sit once in the page cache, whatever
the number of trials. Writing is atomic (a temporary directory renamed into place) and one
process writes while the others wait on a file lock, so no trial ever reads half a copy.

The directory is ``$OCTSEARCH_DATA_CACHE`` if set, else the user cache directory
(``platformdirs.user_cache_dir("octsearch")/data``, ``~/.cache/octsearch/data`` on Linux): on disk,
not ``/dev/shm`` (a container's is 64 MB by default). Delete it to reclaim the space.
Sets read in place (prepared sets: already memory maps) are never copied.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import hashlib
import json
import os
import shutil
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from octsearch.data.dataset import ImageDataset, Normalisation, Split
from octsearch.errors import DataError

CACHE_ENV = "OCTSEARCH_DATA_CACHE"
CACHE_VERSION = 1  # bump when what a cached copy holds changes
_META = "meta.json"
_ARRAYS = ("train_images", "train_labels", "val_images", "val_labels")


def cache_dir() -> Path:
    """Where this node's shared copies live (see the module's docstring)."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("octsearch")) / "data"


def source_fingerprint(root: str | None) -> list[tuple[str, int, int]]:
    """(relative path, bytes, mtime in ns) of every file under ``root``: a changed source is a new key."""
    if root is None or not os.path.isdir(root):
        return []
    found = []
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files):
            stat = os.stat(os.path.join(folder, name))
            found.append((os.path.relpath(os.path.join(folder, name), root), stat.st_size, stat.st_mtime_ns))
    return found


def cache_key(parts: Mapping[str, Any]) -> str:
    """A short hex key of ``parts`` (JSON, sorted keys) and :data:`CACHE_VERSION`."""
    text = json.dumps({"version": CACHE_VERSION, **parts}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def shared_dataset(key: str, load: Callable[[], ImageDataset], directory: Path | None = None) -> ImageDataset:
    """The data set of ``key`` mapped from the node's copy; ``load()`` builds it the first time."""
    root = cache_dir() if directory is None else directory
    final = root / key
    if (final / _META).is_file():
        return open_shared(final)
    root.mkdir(parents=True, exist_ok=True)
    with _locked(root / f"{key}.lock"):
        if not (final / _META).is_file():  # another process may have written it while we waited
            _write(final, load())
            _release_freed_memory()
    return open_shared(final)


def _release_freed_memory() -> None:
    """The decoded set is freed once its copy is written, but glibc keeps freed heap pages (tens of
    MB blocks fall under its dynamic mmap threshold) unless asked: hand them back to the system."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to ask
        pass


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def free_bytes(directory: Path) -> int:
    """Bytes free for this user on the file system of ``directory``."""
    return shutil.disk_usage(directory).free


def _check_room(directory: Path, data: ImageDataset) -> None:
    need = data.nbytes + 8 * (data.num_train + data.num_val) + (1 << 20)  # images, labels, headers
    free = free_bytes(directory)
    if need > free:
        raise DataError(f"{directory}: the node's copy of {data.name} needs {need / 1e6:,.1f} MB but the disk "
                        f"has {free / 1e6:,.1f} MB free; accepted: free space there, or set {CACHE_ENV} to a "
                        "directory with room")


def _write(final: Path, data: ImageDataset) -> None:
    """The splits as .npy files and what else the value holds, renamed into place in one step."""
    _check_room(final.parent, data)
    tmp = final.with_name(f".{final.name}.{os.getpid()}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    for split, part in (("train", data.train), ("val", data.val)):
        images = part.images if part.rows is None else part.images[part.rows]
        np.save(tmp / f"{split}_images.npy", np.ascontiguousarray(images))
        np.save(tmp / f"{split}_labels.npy", np.asarray(part.labels, dtype=np.int64))
    meta = {"name": data.name, "num_classes": data.num_classes, "in_chans": data.in_chans,
            "image_size": data.image_size, "class_names": list(data.class_names),
            "mean": list(data.normalisation.mean), "std": list(data.normalisation.std),
            "description": data.description, "max_value": data.max_value}
    (tmp / _META).write_text(json.dumps(meta))
    for file in tmp.iterdir():  # on disk before the rename makes the copy visible
        with file.open("rb") as f:
            os.fsync(f.fileno())
    os.replace(tmp, final)


def open_shared(path: Path) -> ImageDataset:
    """The copy at ``path``, images mapped read-only; a damaged copy is a one-line DataError."""
    try:
        meta = json.loads((path / _META).read_text())
        arrays = {name: np.load(path / f"{name}.npy", mmap_mode="r" if "images" in name else None)
                  for name in _ARRAYS}
    except (OSError, ValueError) as e:
        raise DataError(f"{path}: the node's copy of the data set is damaged ({str(e).splitlines()[0]}); "
                        "delete that directory and run again") from None
    for split in ("train", "val"):
        if len(arrays[f"{split}_images"]) != len(arrays[f"{split}_labels"]):
            raise DataError(f"{path}: {split} images and labels differ in number; delete that directory and run again")
    return ImageDataset(
        name=meta["name"], train=Split(arrays["train_images"], arrays["train_labels"]),
        val=Split(arrays["val_images"], arrays["val_labels"]), num_classes=meta["num_classes"],
        in_chans=meta["in_chans"], image_size=meta["image_size"], class_names=tuple(meta["class_names"]),
        normalisation=Normalisation(tuple(meta["mean"]), tuple(meta["std"])),
        description=f"{meta['description']}; the node's shared copy {path}",
        max_value=meta["max_value"], shared=str(path),
    )
