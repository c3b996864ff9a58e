"""``cifar10``: CIFAR-10 read from a local directory in its python pickle format.

Expected layout (what ``cifar-10-python.tar.gz`` unpacks to)::

    ROOT/data_batch_1 .. data_batch_5   training pool (5 x 10,000 images)
    ROOT/test_batch                     10,000 test images (needed for split="test" only)
    ROOT/batches.meta                   class names (optional)

Each batch is a pickled dict with ``b"data"`` (N x 3072 uint8: 1024 red, 1024 green, 1024
blue values, rows of 32 pixels) and ``b"labels"`` (N ints in 0..9). ROOT may also be the
directory that contains ``cifar-10-batches-py/``. With ``split="val"`` (default) validation is
a seeded stratified fraction of the training pool; with ``split="test"`` it is ``test_batch``.

The files are unpickled with an allow-list (dicts, lists, bytes, numpy arrays): a pickle that
asks for anything else is refused instead of executed.
"""

from __future__ import annotations

import pickle
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from octsearch.data._pool import RawPool
from octsearch.data.registry import OptionSpec, register_dataset, resize_option
from octsearch.errors import DataError

TRAIN_FILES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_FILE = "test_batch"
META_FILE = "batches.meta"
SUBDIR = "cifar-10-batches-py"
CLASS_NAMES = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)
_ROW = 3 * 32 * 32
_FORMAT = "python pickle format, from cifar-10-python.tar.gz"

# (module, name) pairs a CIFAR pickle may reference; numpy.core is numpy._core since numpy 2
_ALLOWED = {
    ("_codecs", "encode"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy._core.numeric", "_frombuffer"),
}


@register_dataset(
    "cifar10",
    summary="CIFAR-10 from ROOT in its python pickle format (data_batch_1..5, test_batch); "
    "32x32 RGB, 10 classes; validation: a fraction of the batches or split=test",
    options=(
        OptionSpec(
            "split",
            "val",
            ("val", "test"),
            "validation set: val = seeded stratified val_fraction "
            "of data_batch_1..5; test = test_batch (val_fraction unused)",
        ),
        resize_option("bilinear", "nearest", "pad"),
    ),
    needs_root=True,
)
def load_cifar10(root: Path | None, options: Mapping[str, Any], image_size: int | None) -> RawPool:
    assert root is not None  # the registry enforces needs_root
    directory = _find_dir(root)
    wanted = TRAIN_FILES + ((TEST_FILE,) if options["split"] == "test" else ())
    missing = [f for f in wanted if not (directory / f).is_file()]
    if missing:
        expected = "data_batch_1..data_batch_5" + (
            " and test_batch" if options["split"] == "test" else ""
        )
        raise DataError(
            f"cifar10: expected {expected} ({_FORMAT}) in {directory}; missing: {', '.join(missing)}"
        )
    batches = [_read_batch(directory / f) for f in TRAIN_FILES]
    images = np.concatenate([b[0] for b in batches])
    labels = np.concatenate([b[1] for b in batches])
    source = f"CIFAR-10 from {directory} (data_batch_1..5: {len(labels):,} 32x32 RGB images)"
    pool = RawPool(
        images=images,
        labels=labels,
        max_value=255,
        class_names=_class_names(directory),
        source=source,
    )
    if options["split"] != "test":
        return pool
    val_images, val_labels = _read_batch(directory / TEST_FILE)
    return RawPool(
        images=images,
        labels=labels,
        max_value=255,
        class_names=pool.class_names,
        source=source,
        val_images=val_images,
        val_labels=val_labels,
        val_source=f"validation = test_batch ({len(val_labels):,} images)",
    )


def _find_dir(root: Path) -> Path:
    return find_dir(root, "cifar10", TRAIN_FILES[0], SUBDIR, f"data_batch_1..data_batch_5 and test_batch ({_FORMAT})")


def find_dir(root: Path, dataset: str, marker: str, subdir: str, contents: str) -> Path:
    """The directory holding a CIFAR pickle set: ``root``, or its ``subdir`` when ``root`` lacks
    ``marker`` (the archive's folder left in place)."""
    if not root.is_dir():
        raise DataError(f"{dataset}: directory {root} does not exist; expected a directory with {contents}")
    nested = root / subdir
    if not (root / marker).exists() and nested.is_dir():
        return nested
    return root


class _SafeUnpickler(pickle.Unpickler):
    """Unpickles plain containers and numpy arrays only."""

    def find_class(self, module: str, name: str) -> Any:
        if module.startswith("numpy.core."):
            module = "numpy._core." + module[len("numpy.core.") :]
        if (module, name) not in _ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}")
        return super().find_class(module, name)


def _unpickle(path: Path) -> Any:
    return unpickle(path, "cifar10", f"a {_FORMAT} batch")


def unpickle(path: Path, dataset: str, expected: str) -> Any:
    """A CIFAR pickle (plain containers and numpy arrays only); one-line DataErrors otherwise."""
    try:
        with path.open("rb") as f:
            return _SafeUnpickler(f, encoding="bytes").load()
    except OSError as e:
        raise DataError(f"{dataset}: cannot read {path}: {e.strerror or e}") from e
    except Exception as e:  # any unpickling failure means: not a CIFAR pickle
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise DataError(f"{dataset}: {path} is not a python pickle ({reason}); expected {expected}") from e


def _get(batch: dict[Any, Any], key: str) -> Any:
    return batch.get(key.encode(), batch.get(key))  # bytes keys (as shipped) or str keys


def _read_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(uint8 images N x 3 x 32 x 32, int64 labels) of one batch file, validated."""
    batch = _unpickle(path)
    expected = f'expected a dict with b"data" (N x {_ROW} uint8) and b"labels" (N ints in 0..9)'
    if not isinstance(batch, dict) or _get(batch, "data") is None or _get(batch, "labels") is None:
        what = (
            f"a dict with keys {sorted(map(repr, batch))[:4]}"
            if isinstance(batch, dict)
            else type(batch).__name__
        )
        raise DataError(f"cifar10: {path} holds {what}; {expected}")
    data, labels = _get(batch, "data"), _get(batch, "labels")
    data = np.asarray(data) if isinstance(data, np.ndarray) else None
    if data is None or data.ndim != 2 or data.shape[1] != _ROW or data.dtype.kind not in "ui":
        shape = "not an array" if data is None else f"{data.dtype} array of shape {data.shape}"
        raise DataError(f'cifar10: {path} has b"data" as {shape}; {expected}')
    try:
        labels = np.asarray(labels, dtype=np.int64).reshape(-1)
    except (TypeError, ValueError) as e:
        raise DataError(f'cifar10: {path} has b"labels" that are not integers; {expected}') from e
    if len(labels) != len(data):
        raise DataError(
            f"cifar10: {path} has {len(data)} images but {len(labels)} labels; {expected}"
        )
    if data.size and (data.min() < 0 or data.max() > 255):
        raise DataError(f"cifar10: {path} has pixel values outside 0..255; {expected}")
    if labels.size and (labels.min() < 0 or labels.max() > 9):
        raise DataError(
            f"cifar10: {path} has labels outside 0..9 (found {labels.min()}..{labels.max()}); {expected}"
        )
    return data.astype(np.uint8, copy=False).reshape(-1, 3, 32, 32), labels


def _class_names(directory: Path) -> tuple[str, ...]:
    """Names from batches.meta when present (it is optional), else the standard ten."""
    path = directory / META_FILE
    if not path.is_file():
        return CLASS_NAMES
    meta = _unpickle(path)
    names = _get(meta, "label_names") if isinstance(meta, dict) else None
    if not isinstance(names, list) or len(names) != len(CLASS_NAMES):
        raise DataError(
            f'cifar10: {path} has no b"label_names" list of 10 names; expected the {_FORMAT} batches.meta'
        )
    return tuple(n.decode() if isinstance(n, bytes) else str(n) for n in names)
