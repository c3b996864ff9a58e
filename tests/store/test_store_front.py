"""Non-dominated sets, hypervolume and knee against brute force (hypothesis)."""

from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from octsearch.pareto import dominates, hypervolume, knee_index, non_dominated

# Small integer grids make ties and duplicates frequent: the hard cases.
coord = st.integers(min_value=0, max_value=6)


def points_strategy(k: int, max_size: int = 25):
    return st.lists(st.tuples(*[coord] * k), min_size=0, max_size=max_size)


directions_strategy = lambda k: st.lists(st.sampled_from(["max", "min"]), min_size=k, max_size=k)  # noqa: E731


def brute_front(points, directions):
    def better_eq(a, b, d):
        return a >= b if d == "max" else a <= b

    out = []
    for i, p in enumerate(points):
        dominated = any(
            all(better_eq(q[j], p[j], d) for j, d in enumerate(directions)) and tuple(q) != tuple(p)
            for q in points
        )
        if not dominated:
            out.append(i)
    return out


def brute_hypervolume(points, reference, directions):
    """Volume of the union of boxes, by counting cells of the grid the coordinates span."""
    signs = [-1 if d == "max" else 1 for d in directions]
    pts = [tuple(s * v for s, v in zip(signs, p, strict=True)) for p in points]
    ref = tuple(s * v for s, v in zip(signs, reference, strict=True))
    pts = [p for p in pts if all(v < r for v, r in zip(p, ref, strict=True))]
    axes = [sorted({p[j] for p in pts} | {ref[j]}) for j in range(len(ref))]
    volume = 0.0
    for cell in itertools.product(*[range(len(a) - 1) for a in axes]):
        lower = [axes[j][c] for j, c in enumerate(cell)]
        if any(all(p[j] <= lower[j] for j in range(len(ref))) for p in pts):
            volume += math.prod(axes[j][c + 1] - axes[j][c] for j, c in enumerate(cell))
    return volume


@settings(max_examples=300, deadline=None)
@given(points_strategy(2), directions_strategy(2))
def test_non_dominated_2d_matches_brute_force(points, directions):
    assert non_dominated(points, directions) == brute_front(points, directions)


@settings(max_examples=200, deadline=None)
@given(st.integers(3, 4).flatmap(lambda k: st.tuples(points_strategy(k), directions_strategy(k))))
def test_non_dominated_kd_matches_brute_force(case):
    points, directions = case
    assert non_dominated(points, directions) == brute_front(points, directions)


@settings(max_examples=300, deadline=None)
@given(points_strategy(2), st.tuples(coord, coord), directions_strategy(2))
def test_hypervolume_2d_matches_brute_force(points, reference, directions):
    got = hypervolume(points, reference, directions)
    assert got == pytest.approx(brute_hypervolume(points, reference, directions), abs=1e-9)


@settings(max_examples=150, deadline=None)
@given(points_strategy(3, max_size=12), st.tuples(coord, coord, coord), directions_strategy(3))
def test_hypervolume_3d_matches_brute_force(points, reference, directions):
    got = hypervolume(points, reference, directions)
    assert got == pytest.approx(brute_hypervolume(points, reference, directions), abs=1e-9)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(0.0, 1.0), st.floats(1e6, 4e7)), min_size=1, max_size=30
    )
)
def test_hypervolume_accuracy_flops_bounds(points):
    """Accuracy (max) x FLOPs (min): within [0, (1 - chance) x ref]; adding a point never lowers it."""
    ref = (0.1, 4e7)
    hv = hypervolume(points, ref, ["max", "min"])
    assert 0 <= hv <= (1 - 0.1) * 4e7 + 1e-6
    assert hypervolume([*points, (0.99, 2e6)], ref, ["max", "min"]) >= hv - 1e-6


def test_points_worse_than_reference_contribute_nothing():
    ref = (0.1, 100.0)
    assert hypervolume([(0.05, 10.0), (0.5, 100.0), (0.5, 150.0)], ref, ["max", "min"]) == 0.0
    assert hypervolume([(0.5, 50.0), (0.05, 10.0)], ref, ["max", "min"]) == pytest.approx(0.4 * 50)


def test_duplicates_are_all_kept_and_dominance_is_strict():
    pts = [(0.9, 10), (0.9, 10), (0.8, 10), (0.95, 20)]
    assert non_dominated(pts, ["max", "min"]) == [0, 1, 3]
    assert not dominates((0.9, 10), (0.9, 10), ["max", "min"])
    assert dominates((0.9, 10), (0.8, 10), ["max", "min"])


def test_bad_points_are_rejected():
    with pytest.raises(ValueError, match="NaN"):
        non_dominated([(math.nan, 1.0)], ["max", "min"])
    with pytest.raises(ValueError, match="expected 2"):
        non_dominated([(1.0, 2.0, 3.0)], ["max", "min"])
    with pytest.raises(ValueError, match="direction"):
        non_dominated([(1.0, 2.0)], ["up", "min"])


def test_knee_is_the_member_farthest_above_the_extremes_line():
    # extremes (0.80, 10) and (0.95, 40); (0.93, 20) bulges most towards the ideal corner
    accuracy = [0.80, 0.90, 0.93, 0.95]
    flops = [10, 15, 20, 40]
    assert knee_index(accuracy, flops) == 2
    # one or two members: the more accurate
    assert knee_index([0.9], [5]) == 0
    assert knee_index([0.8, 0.9], [5, 10]) == 1


@settings(max_examples=200, deadline=None)
@given(points_strategy(2, max_size=15).filter(bool))
def test_knee_is_on_the_front_and_scale_free(points):
    idx = non_dominated(points, ["max", "min"])
    acc = [points[i][0] for i in idx]
    fl = [points[i][1] for i in idx]
    k = knee_index(acc, fl)
    assert 0 <= k < len(idx)
    # normalisation makes the choice independent of units (GFLOPs vs multiply-adds, % vs fraction)
    assert knee_index([a * 100 for a in acc], [f * 1e9 for f in fl]) == k
