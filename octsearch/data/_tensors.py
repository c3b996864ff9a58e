"""From a raw pool to an :class:`ImageDataset`: limit, split, resize, normalise (uses torch)."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from octsearch.data._pool import RawPool
from octsearch.data._split import stratified_split, stratified_subset
from octsearch.data.dataset import ImageDataset, Normalisation
from octsearch.errors import ConfigError, DataError

_STATS_CHUNK = 2048  # images per float64 chunk when computing the statistics


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
