"""Non-dominated sets, hypervolume and the knee point: pure functions over plain numbers.

No database here. Every function takes points as sequences of floats and a direction per
objective ("max" or "min"); internally everything is turned into minimisation.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

Direction = Literal["max", "min"]
Point = Sequence[float]


def _to_min(points: Sequence[Point], directions: Sequence[Direction]) -> list[tuple[float, ...]]:
    """Points with every 'max' objective negated, checked for size and NaN."""
    k = len(directions)
    for d in directions:
        if d not in ("max", "min"):
            raise ValueError(f"direction must be 'max' or 'min', got {d!r}")
    out = []
    for p in points:
        if len(p) != k:
            raise ValueError(f"point {tuple(p)!r} has {len(p)} values; expected {k}")
        if any(math.isnan(v) for v in p):
            raise ValueError(f"point {tuple(p)!r} contains NaN")
        out.append(tuple(-v if d == "max" else v for v, d in zip(p, directions, strict=True)))
    return out


def dominates(a: Point, b: Point, directions: Sequence[Direction]) -> bool:
    """True if ``a`` is at least as good as ``b`` in every objective and better in one."""
    (ma, mb) = _to_min([a, b], directions)
    return all(x <= y for x, y in zip(ma, mb, strict=True)) and ma != mb


def non_dominated(points: Sequence[Point], directions: Sequence[Direction]) -> list[int]:
    """Indices (ascending) of the exact non-dominated set; equal points are all kept.

    Two objectives: one sort and a sweep, O(n log n). More: points in lexicographic order are
    compared with the front found so far (a dominator always sorts first), O(n * front size).
    """
    mins = _to_min(points, directions)
    order = sorted(range(len(mins)), key=lambda i: mins[i])
    if len(directions) == 2:
        return sorted(_sweep_2d(mins, order))
    front: list[int] = []
    for i in order:
        p = mins[i]
        if not any(_min_dominates(mins[j], p) for j in front):
            front.append(i)
    return sorted(front)


def _min_dominates(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return all(x <= y for x, y in zip(a, b, strict=True)) and a != b


def _sweep_2d(mins: list[tuple[float, ...]], order: list[int]) -> list[int]:
    """2-D minimisation front over indices sorted by (x, y)."""
    kept: list[int] = []
    best_y = math.inf  # smallest y among points with a strictly smaller x
    i = 0
    while i < len(order):
        x = mins[order[i]][0]
        group_y = mins[order[i]][1]  # sorted, so the group's first has the smallest y
        j = i
        while j < len(order) and mins[order[j]][0] == x:
            if group_y < best_y and mins[order[j]][1] == group_y:
                kept.append(order[j])
            j += 1
        best_y = min(best_y, group_y)
        i = j
    return kept


def hypervolume(
    points: Sequence[Point], reference: Point, directions: Sequence[Direction]
) -> float:
    """Exact volume dominated by ``points`` and bounded by ``reference``.

    A point not strictly better than the reference in every objective contributes nothing.
    Two objectives: a sweep. More: slicing along the last objective (exact, fine for fronts
    of a few hundred points and k <= 4).
    """
    (ref,) = _to_min([reference], directions)
    mins = [p for p in _to_min(points, directions) if all(v < r for v, r in zip(p, ref, strict=True))]
    return _hv_min(mins, ref)


def _hv_min(points: list[tuple[float, ...]], ref: tuple[float, ...]) -> float:
    if not points:
        return 0.0
    k = len(ref)
    if k == 1:
        return ref[0] - min(p[0] for p in points)
    if k == 2:
        volume, best_y = 0.0, ref[1]
        xs = sorted(points)
        for n, (x, y) in enumerate(xs):
            if y < best_y:
                best_y = y
            x_next = xs[n + 1][0] if n + 1 < len(xs) else ref[0]
            volume += (x_next - x) * (ref[1] - best_y)
        return volume
    # slice along the last objective: between consecutive levels the cross-section is the
    # (k-1)-D hypervolume of every point at or below the level
    pts = sorted(points, key=lambda p: p[-1])
    volume = 0.0
    for n, p in enumerate(pts):
        z_next = pts[n + 1][-1] if n + 1 < len(pts) else ref[-1]
        if z_next > p[-1]:
            below = [q[:-1] for q in pts[: n + 1]]
            keep = non_dominated(below, ["min"] * (k - 1))
            volume += _hv_min([below[i] for i in keep], ref[:-1]) * (z_next - p[-1])
    return volume


def knee_index(accuracy: Sequence[float], flops: Sequence[float]) -> int:
    """Index of the knee of a 2-D front (accuracy max, FLOPs min).

    Both objectives are normalised to [0, 1] over the front (u = FLOPs saved relative to the
    most expensive member, v = accuracy above the least accurate one). The extremes then lie
    on the line u + v = 1, and the knee is the member farthest above it: the largest u + v.
    Ties (including fronts of one or two points) go to the more accurate member.
    """
    if not accuracy or len(accuracy) != len(flops):
        raise ValueError("knee_index needs a non-empty front with one FLOPs value per accuracy")
    a_lo, a_hi = min(accuracy), max(accuracy)
    f_lo, f_hi = min(flops), max(flops)

    def score(i: int) -> tuple[float, float]:
        v = (accuracy[i] - a_lo) / (a_hi - a_lo) if a_hi > a_lo else 0.0
        u = (f_hi - flops[i]) / (f_hi - f_lo) if f_hi > f_lo else 0.0
        return (round(u + v, 12), accuracy[i])

    return max(range(len(accuracy)), key=score)
