"""``digits``: scikit-learn's 1,797 8x8 hand-written digits (``load_digits``, offline)."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from octsearch.data._pool import RawPool
from octsearch.data.registry import register_dataset, resize_option


@register_dataset(
    "digits",
    summary="scikit-learn's load_digits: 1,797 8x8 grey digits, pixel 0..16; offline; "
    "8 px is too small for two octaves: pass image_size=16 (or more) to upscale",
    options=(resize_option("bilinear", "nearest", "pad"),),
    requires="sklearn",
)
def load_digits(root: Path | None, options: Mapping[str, Any], image_size: int | None) -> RawPool:
    images, labels = _arrays()
    return RawPool(
        images=images,
        labels=labels,
        max_value=16,
        class_names=tuple(str(d) for d in range(10)),
        source="scikit-learn digits (sklearn.datasets.load_digits, 1,797 images, about 180 a class)",
    )


@functools.lru_cache(maxsize=1)
def _arrays() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits as sk_load_digits

    bunch = sk_load_digits()
    images = bunch.images.astype(np.uint8)[:, None]  # values are the integers 0..16
    labels = bunch.target.astype(np.int64)
    for array in (images, labels):
        array.setflags(write=False)
    return images, labels
