"""``cifar100``: CIFAR-100 read from a local directory in its python pickle format.

Expected layout (what ``cifar-100-python.tar.gz`` unpacks to)::

    ROOT/train   training pool (50,000 images)
    ROOT/test    10,000 test images (needed for split="test" only)
    ROOT/meta    class names (optional: the standard 100 fine names otherwise)

Each file is a pickled dict with ``b"data"`` (N x 3072 uint8: 1024 red, 1024 green, 1024 blue
values, rows of 32 pixels) and ``b"fine_labels"`` (N ints in 0..99); ``b"coarse_labels"`` (the 20
super-classes) are not used. ROOT may also be the directory that contains ``cifar-100-python/``.
Validation as for ``cifar10``: a seeded stratified fraction of ``train`` (``split="val"``) or
``test`` (``split="test"``). Unpickled with the same allow-list as ``cifar10``. Registered as
``cifar100`` (needs a root); it loads through the registry's float pipeline like ``cifar10``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from octsearch.data._pool import RawPool
from octsearch.data.cifar10 import _get, find_dir, unpickle
from octsearch.data.registry import OptionSpec, register_dataset, resize_option
from octsearch.data.select import CLASS_OPTIONS, subset_pool
from octsearch.errors import DataError

TRAIN_FILE = "train"
TEST_FILE = "test"
META_FILE = "meta"
SUBDIR = "cifar-100-python"
NUM_CLASSES = 100
CLASS_NAMES = tuple(
    "apple aquarium_fish baby bear beaver bed bee beetle bicycle bottle bowl boy bridge bus "
    "butterfly camel can castle caterpillar cattle chair chimpanzee clock cloud cockroach couch "
    "crab crocodile cup dinosaur dolphin elephant flatfish forest fox girl hamster house kangaroo "
    "keyboard lamp lawn_mower leopard lion lizard lobster man maple_tree motorcycle mountain mouse "
    "mushroom oak_tree orange orchid otter palm_tree pear pickup_truck pine_tree plain plate poppy "
    "porcupine possum rabbit raccoon ray road rocket rose sea seal shark shrew skunk skyscraper "
    "snail snake spider squirrel streetcar sunflower sweet_pepper table tank telephone television "
    "tiger tractor train trout tulip turtle wardrobe whale willow_tree wolf woman worm".split()
)
_ROW = 3 * 32 * 32
_FORMAT = "python pickle format, from cifar-100-python.tar.gz"
_EXPECTED = f'expected a dict with b"data" (N x {_ROW} uint8) and b"fine_labels" (N ints in 0..99)'

SUMMARY = (
    "CIFAR-100 from ROOT in its python pickle format (train, test, meta); 32x32 RGB, "
    "100 fine classes; validation: a fraction of train or split=test"
)
OPTIONS = (
    OptionSpec(
        "split",
        "val",
        ("val", "test"),
        "validation set: val = seeded stratified val_fraction of train; "
        "test = the test file (val_fraction unused)",
    ),
    resize_option("bilinear", "nearest", "pad"),
    *CLASS_OPTIONS,
)


@register_dataset("cifar100", summary=SUMMARY, options=OPTIONS, needs_root=True)
def load_cifar100(
    root: Path | None, options: Mapping[str, Any], image_size: int | None
) -> RawPool:
    """The training pool of ``train`` (and ``test`` as the fixed validation set with split=test)."""
    if root is None:
        raise DataError("cifar100: needs root=DIR, the directory that holds train, test and meta")
    directory = _find_dir(root)
    test = options.get("split", "val") == "test"
    missing = [f for f in (TRAIN_FILE, TEST_FILE)[: 2 if test else 1] if not (directory / f).is_file()]
    if missing:
        expected = "train" + (" and test" if test else "")
        raise DataError(
            f"cifar100: expected {expected} ({_FORMAT}) in {directory}; missing: {', '.join(missing)}"
        )
    images, labels = read_file(directory / TRAIN_FILE)
    source = f"CIFAR-100 from {directory} (train: {len(labels):,} 32x32 RGB images, fine labels)"
    names = class_names(directory)
    if not test:
        pool = RawPool(images, labels, 255, names, source)
    else:
        val_images, val_labels = read_file(directory / TEST_FILE)
        pool = RawPool(images, labels, 255, names, source, val_images=val_images, val_labels=val_labels,
                       val_source=f"validation = test ({len(val_labels):,} images)")
    return subset_pool(pool, options.get("classes"), options.get("per_class"), f"cifar100 ({directory})")


def _find_dir(root: Path) -> Path:
    return find_dir(root, "cifar100", TRAIN_FILE, SUBDIR, f"train, test and meta ({_FORMAT})")


def _unpickle(path: Path) -> Any:
    return unpickle(path, "cifar100", f"a {_FORMAT} file")


def read_file(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(uint8 images N x 3 x 32 x 32, int64 fine labels) of one file, validated."""
    batch = _unpickle(path)
    if not isinstance(batch, dict) or _get(batch, "data") is None or _get(batch, "fine_labels") is None:
        what = (
            f"a dict with keys {sorted(map(repr, batch))[:4]}"
            if isinstance(batch, dict)
            else type(batch).__name__
        )
        raise DataError(f"cifar100: {path} holds {what}; {_EXPECTED}")
    data = _get(batch, "data")
    data = np.asarray(data) if isinstance(data, np.ndarray) else None
    if data is None or data.ndim != 2 or data.shape[1] != _ROW or data.dtype.kind not in "ui":
        shape = "not an array" if data is None else f"{data.dtype} array of shape {data.shape}"
        raise DataError(f'cifar100: {path} has b"data" as {shape}; {_EXPECTED}')
    labels = _labels(path, _get(batch, "fine_labels"), len(data))
    if data.size and (data.min() < 0 or data.max() > 255):
        raise DataError(f"cifar100: {path} has pixel values outside 0..255; {_EXPECTED}")
    return data.astype(np.uint8, copy=False).reshape(-1, 3, 32, 32), labels


def _labels(path: Path, raw: Any, n: int) -> np.ndarray:
    try:
        labels = np.asarray(raw, dtype=np.int64).reshape(-1)
    except (TypeError, ValueError) as e:
        raise DataError(f'cifar100: {path} has b"fine_labels" that are not integers; {_EXPECTED}') from e
    if len(labels) != n:
        raise DataError(f"cifar100: {path} has {n} images but {len(labels)} fine labels; {_EXPECTED}")
    if labels.size and (labels.min() < 0 or labels.max() >= NUM_CLASSES):
        raise DataError(
            f"cifar100: {path} has fine labels outside 0..99 (found {labels.min()}..{labels.max()}); "
            f"{_EXPECTED}"
        )
    return labels


def class_names(directory: Path) -> tuple[str, ...]:
    """Names from ``meta`` (``b"fine_label_names"``) when present, else the standard hundred."""
    path = directory / META_FILE
    if not path.is_file():
        return CLASS_NAMES
    meta = _unpickle(path)
    names = _get(meta, "fine_label_names") if isinstance(meta, dict) else None
    if not isinstance(names, list) or len(names) != NUM_CLASSES:
        raise DataError(
            f'cifar100: {path} has no b"fine_label_names" list of 100 names; expected the {_FORMAT} meta'
        )
    return tuple(n.decode() if isinstance(n, bytes) else str(n) for n in names)
