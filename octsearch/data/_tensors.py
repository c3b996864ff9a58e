"""From a raw pool to an :class:`ImageDataset`: limit, split, resize, statistics (uses torch).

Splits stay uint8: images at their native side are gathered as they are; a resize goes through
float in chunks of :data:`_RESIZE_CHUNK` images and is rounded back to uint8 (``pad`` and
``nearest`` exactly). A pool read in place (a prepared set) is never copied: its splits are rows of
its memory map. The uint8 splits must fit in the machine's physical memory (``os.sysconf``; 64 GB
where the platform does not say): an image size that would not is refused, with the figure,
before anything is allocated.
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Iterator

import numpy as np
import torch
import torch.nn.functional as F

from octsearch.data._pool import RawPool
from octsearch.data._split import stratified_split, stratified_subset
from octsearch.data.dataset import ImageDataset, Normalisation, Split
from octsearch.errors import ConfigError, DataError

_STATS_CHUNK = 2048  # images per float64 chunk when computing the statistics
_RESIZE_CHUNK = 1024  # images per float chunk of a resize
FALLBACK_MEMORY = 64 * 10**9  # bytes assumed where os.sysconf does not give the physical memory


def build_dataset(
    name: str,
    pool: RawPool,
    *,
    seed: int,
    val_fraction: float,
    image_size: int | None,
    limit: int | None,
    resize: str,
) -> ImageDataset:
    """Split ``pool`` with ``seed``, resize to ``image_size``, train-split statistics."""
    num_classes = len(pool.class_names)
    side = pool.side if image_size is None else image_size
    _check_sizes(name, pool, side, limit, resize)
    rng = np.random.default_rng(seed)
    if pool.val_images is None:
        train, val = _split_rows(pool, val_fraction, limit, rng)
        how = f"seeded stratified {val_fraction:.0%} of each class, seed {seed}"
    else:
        train, val = _fixed_rows(pool, limit, num_classes, rng)
        how = f"{pool.val_source}; train order seed {seed}"
    if limit is not None and limit < len(pool.labels) + (
        0 if pool.val_labels is None else len(pool.val_labels)
    ):
        how += f"; capped at limit {limit:,} images, stratified"
    if len(train) == 0 or len(val) == 0:
        raise DataError(f"{name}: too few images to split ({len(train)} train, {len(val)} validation)")
    val_images = pool.images if pool.val_images is None else pool.val_images
    val_labels = pool.labels if pool.val_labels is None else pool.val_labels
    if pool.in_place is not None:
        assert pool.rows is not None  # an in-place source gives its rows
        splits = (Split(pool.images, pool.labels[train], pool.rows[train]),
                  Split(pool.images, pool.labels[val], pool.rows[val]))
        size_note = f"{side}x{side}, read in place from {pool.in_place}"
    else:
        need = check_memory(name, len(train), len(val), pool.in_chans, side)
        with _allocating(name, side, need):
            splits = (Split(_resized(pool.images, train, side, resize, pool.max_value), pool.labels[train]),
                      Split(_resized(val_images, val, side, resize, pool.max_value), val_labels[val]))
        size_note = f"{side}x{side}" if side == pool.side else f"{pool.side}x{pool.side} -> {side}x{side} by {resize}"
    mean, std = pool.stats or channel_stats(splits[0], pool.max_value)
    description = (
        f"{pool.source}; train {len(train):,} / validation {len(val):,} images ({how}); "
        f"{size_note}; uint8, normalised per batch with the train split's per-channel mean/std"
    )
    return ImageDataset(
        name=name, train=splits[0], val=splits[1], num_classes=num_classes, in_chans=pool.in_chans,
        image_size=side, class_names=pool.class_names, normalisation=Normalisation(mean=mean, std=std),
        description=description, max_value=pool.max_value, shared=pool.in_place,
    )


def _check_sizes(name: str, pool: RawPool, side: int, limit: int | None, resize: str) -> None:
    num_classes = len(pool.class_names)
    if resize == "pad" and side < pool.side:
        raise ConfigError(
            f"{name}: resize='pad' needs image_size >= {pool.side} (the native side); got {side}; "
            "use resize='bilinear' to shrink"
        )
    if limit is not None and limit < 2 * num_classes:
        raise ConfigError(
            f"{name}: limit={limit} is too small for {num_classes} classes; use at least {2 * num_classes} (2 a class)"
        )
    if pool.in_place is not None and side != pool.side:
        raise ConfigError(f"{name}: image_size={side} but the images in {pool.in_place} are {pool.side} px; "
                          f"accepted: {pool.side} (a prepared set is read in place, not resized)")


def machine_memory() -> int:
    """Bytes of physical memory (``os.sysconf``), else :data:`FALLBACK_MEMORY`."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return FALLBACK_MEMORY


def check_memory(name: str, n_train: int, n_val: int, channels: int, side: int) -> int:
    """The bytes the uint8 splits take (plus a resize chunk in float32); a one-line ConfigError
    with the figure if more than :func:`machine_memory`."""
    per_pixel = channels * (n_train + n_val + 4 * min(n_train + n_val, _RESIZE_CHUNK))
    need, limit = per_pixel * side * side, machine_memory()
    if need > limit:
        raise ConfigError(
            f"{name}: image_size={side} would take {_bytes(need)} ({n_train + n_val:,} images of "
            f"{channels}x{side}x{side} uint8 and a float32 resize chunk), more than the {_bytes(limit)} of "
            f"memory this machine has; accepted: image_size at most {math.isqrt(limit // per_pixel)} here"
        )
    return need


@contextlib.contextmanager
def _allocating(name: str, side: int, need: int) -> Iterator[None]:
    """An allocation that fails though the estimate fit (a memory limit below the machine's):
    a one-line DataError, not torch's or numpy's message."""
    try:
        yield
    except (RuntimeError, MemoryError) as e:
        if isinstance(e, RuntimeError) and "can't allocate memory" not in str(e):
            raise
        raise DataError(f"{name}: resizing to {side}x{side} ({_bytes(need)}) failed: not enough memory "
                        "for this process; accepted: a smaller image_size or limit") from None


def _bytes(n: int) -> str:
    for unit, size in (("TB", 10**12), ("GB", 10**9), ("MB", 10**6)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{n:,} bytes"


def _split_rows(
    pool: RawPool, val_fraction: float, limit: int | None, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """(train, validation) rows of the pool: an optional stratified cap, then the split."""
    idx = np.arange(len(pool.labels))
    if limit is not None and limit < len(idx):
        idx = stratified_subset(pool.labels, limit, rng)
    train, val = stratified_split(pool.labels[idx], val_fraction, rng)
    return idx[train], idx[val]


def _fixed_rows(
    pool: RawPool, limit: int | None, num_classes: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """(train rows of the pool, rows of its fixed validation set)."""
    assert pool.val_images is not None and pool.val_labels is not None  # caller checked
    n_train, n_val = len(pool.labels), len(pool.val_labels)
    train = rng.permutation(n_train)
    val = np.arange(n_val)
    if limit is not None and limit < n_train + n_val:
        # the cap is shared in proportion to the two sets' sizes; validation keeps a class each
        k_val = max(limit - round(limit * n_train / (n_train + n_val)), min(num_classes, n_val))
        train = stratified_subset(pool.labels, limit - k_val, rng)
        val = np.sort(stratified_subset(pool.val_labels, k_val, rng))
    return train, val


def _to_float(images: np.ndarray, max_value: int) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(images)).to(torch.float32).mul_(1.0 / max_value)


def _resized(images: np.ndarray, rows: np.ndarray, side: int, mode: str, max_value: int) -> np.ndarray:
    """uint8 ``images[rows]`` at ``side`` px (resized through float in chunks, rounded back)."""
    if side == images.shape[-1]:
        return np.ascontiguousarray(images[rows])
    out = np.empty((len(rows), images.shape[1], side, side), dtype=np.uint8)
    for start in range(0, len(rows), _RESIZE_CHUNK):
        x = _resize(_to_float(images[rows[start:start + _RESIZE_CHUNK]], max_value), side, mode)
        out[start:start + len(x)] = x.mul_(max_value).round_().clamp_(0, max_value).to(torch.uint8).numpy()
    return out


def _resize(x: torch.Tensor, side: int, mode: str) -> torch.Tensor:
    native = x.shape[-1]
    if mode == "pad":
        before = (side - native) // 2
        after = side - native - before
        return F.pad(x, (before, after, before, after))
    if mode == "nearest":
        return F.interpolate(x, size=(side, side), mode="nearest-exact")
    return F.interpolate(
        x, size=(side, side), mode="bilinear", align_corners=False, antialias=side < native
    )


def channel_stats(split: Split, max_value: int) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and population std of a split's pixels scaled to [0, 1], summed in float64
    over float32 pixels in fixed chunks: deterministic, and the figures the float pipeline gave."""
    rows = np.arange(len(split.images)) if split.rows is None else np.sort(split.rows)
    c, side = split.images.shape[1], split.images.shape[-1]
    s1, s2 = np.zeros(c), np.zeros(c)
    for start in range(0, len(rows), _STATS_CHUNK):
        part = rows[start:start + _STATS_CHUNK]
        chunk = _to_float(split.images[start:start + len(part)] if split.rows is None else split.images[part],
                          max_value).numpy().astype(np.float64)
        s1 += chunk.sum(axis=(0, 2, 3))
        s2 += np.square(chunk).sum(axis=(0, 2, 3))
    n = len(rows) * side * side
    mean = s1 / n
    std = np.sqrt(np.maximum(s2 / n - mean**2, 0.0))
    std = np.where(std > 1e-6, std, 1.0)  # a constant channel is left unscaled, not divided by 0
    return tuple(float(m) for m in mean), tuple(float(s) for s in std)
