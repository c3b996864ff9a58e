"""From a raw pool to an :class:`ImageDataset`: limit, split, resize, normalise (uses torch).

The resized splits must fit in the machine's physical memory (``os.sysconf``; 64 GB where the
platform does not say): an image size that would not is refused, with the figure, before the
tensors are allocated.
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
from octsearch.data.dataset import ImageDataset, Normalisation
from octsearch.errors import ConfigError, DataError

_STATS_CHUNK = 2048  # images per float64 chunk when computing the statistics
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
    """Split ``pool`` with ``seed``, resize to ``image_size`` and normalise (train statistics)."""
    num_classes = len(pool.class_names)
    side = pool.side if image_size is None else image_size
    if resize == "pad" and side < pool.side:
        raise ConfigError(
            f"{name}: resize='pad' needs image_size >= {pool.side} (the native side); got {side}; "
            "use resize='bilinear' to shrink"
        )
    if limit is not None and limit < 2 * num_classes:
        raise ConfigError(
            f"{name}: limit={limit} is too small for {num_classes} classes; use at least {2 * num_classes} (2 a class)"
        )
    rng = np.random.default_rng(seed)
    if pool.val_images is None:
        train_img, train_lab, val_img, val_lab = _split_pool(pool, val_fraction, limit, rng)
        how = f"seeded stratified {val_fraction:.0%} of each class, seed {seed}"
    else:
        train_img, train_lab, val_img, val_lab = _fixed_split(pool, limit, num_classes, rng)
        how = f"{pool.val_source}; train order seed {seed}"
    if limit is not None and limit < len(pool.labels) + (
        0 if pool.val_labels is None else len(pool.val_labels)
    ):
        how += f"; capped at limit {limit:,} images, stratified"
    if len(train_lab) == 0 or len(val_lab) == 0:
        raise DataError(
            f"{name}: too few images to split ({len(train_lab)} train, {len(val_lab)} validation)"
        )

    need = check_memory(name, len(train_lab), len(val_lab), pool.in_chans, side)
    with _allocating(name, side, need):
        train_x = _resize(_to_float(train_img, pool.max_value), side, resize)
        val_x = _resize(_to_float(val_img, pool.max_value), side, resize)
        mean, std = _channel_stats(train_x)
    for x in (train_x, val_x):
        x.sub_(torch.tensor(mean).view(1, -1, 1, 1)).div_(torch.tensor(std).view(1, -1, 1, 1))

    size_note = (
        f"{side}x{side}"
        if side == pool.side
        else f"{pool.side}x{pool.side} -> {side}x{side} by {resize}"
    )
    description = (
        f"{pool.source}; train {len(train_lab):,} / validation {len(val_lab):,} images ({how}); "
        f"{size_note}; normalised with the train split's per-channel mean/std"
    )
    return ImageDataset(
        name=name,
        train_x=train_x,
        train_y=torch.from_numpy(train_lab.astype(np.int64)),
        val_x=val_x,
        val_y=torch.from_numpy(val_lab.astype(np.int64)),
        num_classes=num_classes,
        in_chans=pool.in_chans,
        image_size=side,
        class_names=pool.class_names,
        normalisation=Normalisation(mean=mean, std=std),
        description=description,
    )


def machine_memory() -> int:
    """Bytes of physical memory (``os.sysconf``), else :data:`FALLBACK_MEMORY`."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return FALLBACK_MEMORY


def check_memory(name: str, n_train: int, n_val: int, channels: int, side: int) -> int:
    """The bytes the resized splits take (float32, plus the statistics pass's float64 chunk);
    a one-line ConfigError with the figure if more than :func:`machine_memory`."""
    per_pixel = channels * (4 * (n_train + n_val) + 8 * min(n_train, _STATS_CHUNK))
    need, limit = per_pixel * side * side, machine_memory()
    if need > limit:
        raise ConfigError(
            f"{name}: image_size={side} would take {_bytes(need)} ({n_train + n_val:,} images of "
            f"{channels}x{side}x{side} float32 and the statistics pass), more than the {_bytes(limit)} of "
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


def _split_pool(
    pool: RawPool, val_fraction: float, limit: int | None, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    idx = np.arange(len(pool.labels))
    if limit is not None and limit < len(idx):
        idx = stratified_subset(pool.labels, limit, rng)
    train, val = stratified_split(pool.labels[idx], val_fraction, rng)
    train, val = idx[train], idx[val]
    return pool.images[train], pool.labels[train], pool.images[val], pool.labels[val]


def _fixed_split(
    pool: RawPool, limit: int | None, num_classes: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    assert pool.val_images is not None and pool.val_labels is not None  # caller checked
    n_train, n_val = len(pool.labels), len(pool.val_labels)
    train = rng.permutation(n_train)
    val = np.arange(n_val)
    if limit is not None and limit < n_train + n_val:
        # the cap is shared in proportion to the two sets' sizes; validation keeps a class each
        k_val = max(limit - round(limit * n_train / (n_train + n_val)), min(num_classes, n_val))
        train = stratified_subset(pool.labels, limit - k_val, rng)
        val = np.sort(stratified_subset(pool.val_labels, k_val, rng))
    return pool.images[train], pool.labels[train], pool.val_images[val], pool.val_labels[val]


def _to_float(images: np.ndarray, max_value: int) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(images)).to(torch.float32).mul_(1.0 / max_value)


def _resize(x: torch.Tensor, side: int, mode: str) -> torch.Tensor:
    native = x.shape[-1]
    if side == native:
        return x
    if mode == "pad":
        before = (side - native) // 2
        after = side - native - before
        return F.pad(x, (before, after, before, after))
    if mode == "nearest":
        return F.interpolate(x, size=(side, side), mode="nearest-exact")
    return F.interpolate(
        x, size=(side, side), mode="bilinear", align_corners=False, antialias=side < native
    )


def _channel_stats(x: torch.Tensor) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and population std, summed in float64 in fixed chunks (deterministic)."""
    array = x.numpy()
    n = array.shape[0] * array.shape[2] * array.shape[3]
    s1 = np.zeros(array.shape[1])
    s2 = np.zeros(array.shape[1])
    for start in range(0, array.shape[0], _STATS_CHUNK):
        chunk = array[start : start + _STATS_CHUNK].astype(np.float64)
        s1 += chunk.sum(axis=(0, 2, 3))
        s2 += np.square(chunk).sum(axis=(0, 2, 3))
    mean = s1 / n
    std = np.sqrt(np.maximum(s2 / n - mean**2, 0.0))
    std = np.where(std > 1e-6, std, 1.0)  # a constant channel is left unscaled, not divided by 0
    return tuple(float(m) for m in mean), tuple(float(s) for s in std)
