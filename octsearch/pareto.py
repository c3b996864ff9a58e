"""Non-dominated sets, hypervolume and the knee point: pure functions over plain numbers.

No database here. Every function takes points as sequences of floats and a direction per
objective ("max" or "min"); internally everything is turned into minimisation. The non-dominated
sort and the hypervolume are moocore's (exact; numpy and moocore are imported on first use, so
``octsearch --help`` does not pay for them).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    import numpy as np

Direction = Literal["max", "min"]
Vector = Sequence[float]


def _to_min(points: Sequence[Vector], directions: Sequence[Direction]) -> np.ndarray:
    """Points as an (n, k) float array with every 'max' objective negated, checked for size and NaN."""
    import numpy as np

    k = len(directions)
    for d in directions:
        if d not in ("max", "min"):
            raise ValueError(f"direction must be 'max' or 'min', got {d!r}")
    for p in points:
        if len(p) != k:
            raise ValueError(f"point {tuple(p)!r} has {len(p)} values; expected {k}")
    array = np.asarray(points, dtype=float).reshape(len(points), k)
    nan = np.isnan(array).any(axis=1)
    if nan.any():
        raise ValueError(f"point {tuple(points[int(np.argmax(nan))])!r} contains NaN")
    return array * np.array([-1.0 if d == "max" else 1.0 for d in directions])


def dominates(a: Vector, b: Vector, directions: Sequence[Direction]) -> bool:
    """True if ``a`` is at least as good as ``b`` in every objective and better in one."""
    ma, mb = (tuple(-v if d == "max" else v for v, d in zip(p, directions, strict=True)) for p in (a, b))
    return all(x <= y for x, y in zip(ma, mb, strict=True)) and ma != mb


def non_dominated(points: Sequence[Vector], directions: Sequence[Direction]) -> list[int]:
    """Indices (ascending) of the exact non-dominated set; equal points are all kept.

    moocore's dimension sweep: O(n log n) for up to three objectives, O(n log^(k-2) n) beyond
    (``bench/front_read.py`` measures it against the sweep octsearch used before).
    """
    import moocore
    import numpy as np

    mins = _to_min(points, directions)
    if len(mins) == 0:
        return []
    return np.flatnonzero(moocore.is_nondominated(mins, keep_weakly=True)).tolist()


def hypervolume(
    points: Sequence[Vector], reference: Vector, directions: Sequence[Direction]
) -> float:
    """Exact volume dominated by ``points`` and bounded by ``reference`` (moocore).

    A point not strictly better than the reference in every objective contributes nothing.
    """
    import moocore

    (ref,) = _to_min([reference], directions)
    mins = _to_min(points, directions)
    inside = mins[(mins < ref).all(axis=1)] if len(mins) else mins
    if len(inside) == 0:
        return 0.0
    return float(moocore.hypervolume(inside, ref=ref))


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
