"""Stratified allocation, subsets and splits (octsearch.data._split)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from octsearch.data._split import stratified_split, stratified_subset

class_sizes = st.lists(st.integers(min_value=1, max_value=40), min_size=1, max_size=12)


@settings(max_examples=200, deadline=None)
@given(
    sizes=class_sizes,
    fraction=st.floats(min_value=0.01, max_value=0.99),
    seed=st.integers(0, 2**32 - 1),
)
def test_split_partitions_and_keeps_every_class_with_two_images(
    sizes: list[int], fraction: float, seed: int
) -> None:
    labels = np.repeat(np.arange(len(sizes)), sizes)
    train, val = stratified_split(labels, fraction, np.random.default_rng(seed))
    assert sorted(np.concatenate([train, val]).tolist()) == list(range(len(labels)))
    for c, n in enumerate(sizes):
        in_val = int((labels[val] == c).sum())
        assert (labels[train] == c).sum() >= 1  # every class can be trained on
        assert in_val >= (1 if n >= 2 else 0)
        # largest-remainder share of the class, unless moved to keep the class in both splits
        assert abs(in_val - n * fraction) < 1 or (n >= 2 and in_val in (1, n - 1))


@settings(max_examples=200, deadline=None)
@given(sizes=class_sizes, k=st.integers(1, 300), seed=st.integers(0, 2**32 - 1))
def test_subset_has_k_images_in_proportion(sizes: list[int], k: int, seed: int) -> None:
    labels = np.repeat(np.arange(len(sizes)), sizes)
    picked = stratified_subset(labels, k, np.random.default_rng(seed))
    assert len(picked) == min(k, len(labels)) and len(set(picked.tolist())) == len(picked)
    counts = np.bincount(labels[picked], minlength=len(sizes))
    if len(picked) >= len(sizes):
        assert (counts >= 1).all()
    quota = np.array(sizes) * len(picked) / len(labels)
    if (quota >= 1).all():  # no class needed topping up to one image: largest-remainder rounding
        assert (np.abs(counts - quota) < 1).all()


def test_split_is_seeded() -> None:
    labels = np.repeat(np.arange(10), 50)
    a = stratified_split(labels, 0.2, np.random.default_rng(0))
    b = stratified_split(labels, 0.2, np.random.default_rng(0))
    c = stratified_split(labels, 0.2, np.random.default_rng(1))
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert set(a[1].tolist()) != set(c[1].tolist())
    assert np.bincount(labels[a[1]]).tolist() == [10] * 10
