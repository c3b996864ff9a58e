"""Seeded stratified subsets and train/validation splits (numpy only)."""

from __future__ import annotations

import numpy as np


def allocate(counts: np.ndarray, total: int, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Share ``total`` among classes in proportion to ``counts``, each within ``[low, high]``.

    Largest-remainder rounding, so the shares sum to ``total`` exactly; ``low.sum() <= total <=
    high.sum()`` must hold (callers clamp ``total`` first).
    """
    quota = counts * (total / max(int(counts.sum()), 1))
    take = np.clip(np.floor(quota).astype(np.int64), low, high)
    while take.sum() < total:
        gap = np.where(take < high, quota - take, -np.inf)
        take[int(np.argmax(gap))] += 1
    while take.sum() > total:
        excess = np.where(take > low, take - quota, -np.inf)
        take[int(np.argmax(excess))] -= 1
    return take


def _groups(labels: np.ndarray, rng: np.random.Generator) -> list[np.ndarray]:
    """Indices of each present class, each group in a seeded random order."""
    order = np.argsort(labels, kind="stable")
    _, starts = np.unique(labels[order], return_index=True)
    return [rng.permutation(g) for g in np.split(order, starts[1:])]


def stratified_subset(labels: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """``k`` indices with the class proportions of ``labels`` (every class kept if ``k`` allows)."""
    groups = _groups(labels, rng)
    counts = np.array([len(g) for g in groups], dtype=np.int64)
    k = min(k, int(counts.sum()))
    low = np.minimum(counts, 1) if k >= len(groups) else np.zeros_like(counts)
    take = allocate(counts, k, low, counts)
    picked = np.concatenate([g[:t] for g, t in zip(groups, take, strict=True)])
    return rng.permutation(picked)


def stratified_split(
    labels: np.ndarray, fraction: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Split indices into (train, validation), ``fraction`` of each class to validation.

    Every class with at least two images lands in both splits; a class with one image goes
    to train. Both index arrays come back in a seeded random order (never sorted by class).
    """
    groups = _groups(labels, rng)
    counts = np.array([len(g) for g in groups], dtype=np.int64)
    eligible = np.where(counts >= 2, counts, 0)  # a one-image class cannot give any to validation
    total = round(float(eligible.sum()) * fraction)
    # proportional shares first, then each class kept in both splits (the total may move by a few)
    n_val = np.clip(
        allocate(eligible, total, np.zeros_like(eligible), eligible),
        np.minimum(eligible, 1),
        np.maximum(eligible - 1, 0),
    )
    val = np.concatenate([g[:v] for g, v in zip(groups, n_val, strict=True)])
    train = np.concatenate([g[v:] for g, v in zip(groups, n_val, strict=True)])
    return rng.permutation(train), rng.permutation(val)
