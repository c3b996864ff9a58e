"""Does the proxy rank configurations as the larger budget does? Pure functions over numbers.

- :func:`kendall_tau`: Kendall's tau-b between two scorings of the same configurations, with its
  two-sided p-value (exact permutation distribution without ties for n <= 33, the normal
  approximation with the tie-corrected variance otherwise: the same rules as
  ``scipy.stats.kendalltau``).
- :func:`front_survival`: how many members of one front are still non-dominated when the same
  configurations are scored again.
- :func:`pooled_std`: the seed-to-seed standard deviation of repeated evaluations (the noise floor).
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from octsearch.store.front import Direction, non_dominated

K = TypeVar("K", bound=Hashable)

EXACT_MAX_N = 33  # as scipy: the exact null distribution up to here (no ties), normal beyond


@dataclass(frozen=True)
class KendallTau:
    """Kendall's tau-b in [-1, 1] over ``n`` paired values; NaN when undefined (n < 2, or one
    side all tied). ``p_value`` is two-sided, against no association."""

    tau: float
    p_value: float
    n: int
    method: str  # "exact", "asymptotic" or "undefined"


@dataclass(frozen=True)
class Survival:
    """Members of a first front judged again: ``judged`` of them have a second score, ``kept``
    are on the second front (computed over every key with a second score, ``front``)."""

    judged: tuple[Hashable, ...]
    kept: tuple[Hashable, ...]
    front: tuple[Hashable, ...]

    @property
    def fraction(self) -> float:
        return len(self.kept) / len(self.judged) if self.judged else math.nan


def _sign(v: float) -> int:
    return (v > 0) - (v < 0)


def _tie_stats(values: Sequence[float]) -> tuple[int, int, int]:
    """Tied pairs, sum t(t-1)(t-2) and sum t(t-1)(2t+5) over groups of t equal values."""
    counts: dict[float, int] = {}
    for v in values:
        counts[v] = counts.get(v, 0) + 1
    groups = [t for t in counts.values() if t > 1]
    return (sum(t * (t - 1) // 2 for t in groups), sum(t * (t - 1) * (t - 2) for t in groups),
            sum(t * (t - 1) * (2 * t + 5) for t in groups))


def _exact_p(n: int, discordant: int) -> float:
    """Two-sided p of ``discordant`` inversions among the n! equally likely rankings."""
    total = n * (n - 1) // 2
    c = min(discordant, total - discordant)
    if 4 * c == n * (n - 1):  # exactly at the centre
        return 1.0
    # counts[k]: permutations of j elements with k inversions (Mahonian numbers), k <= c
    counts = [1] + [0] * c
    for j in range(2, n + 1):
        prefix, acc = [], 0
        for k in range(c + 1):
            acc += counts[k]
            prefix.append(acc)
        counts = [prefix[k] - (prefix[k - j] if k - j >= 0 else 0) for k in range(c + 1)]
    return min(1.0, 2 * sum(counts) / math.factorial(n))


def kendall_tau(x: Sequence[float], y: Sequence[float]) -> KendallTau:
    """Kendall's tau-b between paired scorings ``x`` and ``y`` (e.g. proxy and full accuracy)."""
    if len(x) != len(y):
        raise ValueError(f"kendall_tau needs paired values; got {len(x)} and {len(y)}")
    n = len(x)
    if any(math.isnan(v) for v in (*x, *y)):
        raise ValueError("kendall_tau: values contain NaN")
    total = n * (n - 1) // 2
    s, discordant = 0, 0
    for i in range(n):
        for j in range(i + 1, n):
            p = _sign(x[i] - x[j]) * _sign(y[i] - y[j])
            s += p
            discordant += p < 0
    x_ties, x0, x1 = _tie_stats(x)
    y_ties, y0, y1 = _tie_stats(y)
    if n < 2 or x_ties == total or y_ties == total:
        return KendallTau(math.nan, math.nan, n, "undefined")
    tau = max(-1.0, min(1.0, s / math.sqrt((total - x_ties) * (total - y_ties))))
    if x_ties == 0 and y_ties == 0 and (n <= EXACT_MAX_N or min(discordant, total - discordant) <= 1):
        return KendallTau(tau, _exact_p(n, discordant), n, "exact")
    m = n * (n - 1)
    var = (m * (2 * n + 5) - x1 - y1) / 18 + 2 * x_ties * y_ties / m
    if n > 2:
        var += x0 * y0 / (9 * m * (n - 2))
    p = math.erfc(abs(s) / math.sqrt(var) / math.sqrt(2)) if var > 0 else math.nan
    return KendallTau(tau, min(1.0, p), n, "asymptotic")


def pareto_keys(points: Mapping[K, Sequence[float]], directions: Sequence[Direction]) -> tuple[K, ...]:
    """Keys of the non-dominated points (ties all kept), in the mapping's order."""
    keys = list(points)
    return tuple(keys[i] for i in non_dominated([points[k] for k in keys], directions))


def front_survival(
    first_front: Iterable[K], second: Mapping[K, Sequence[float]], directions: Sequence[Direction]
) -> Survival:
    """Which members of ``first_front`` stay non-dominated under the ``second`` scoring.

    ``second`` maps every re-scored configuration (front members and others, e.g. the uniform-alpha
    points) to its objective values in ``directions`` order. A member without a second score is
    not judged.
    """
    front = pareto_keys(second, directions)
    on = set(front)
    judged = tuple(k for k in dict.fromkeys(first_front) if k in second)
    return Survival(judged=judged, kept=tuple(k for k in judged if k in on), front=front)


def pooled_std(groups: Iterable[Sequence[float]]) -> tuple[float, int]:
    """Seed-to-seed standard deviation pooled over groups of repeated evaluations (one group per
    configuration): sqrt(sum of squared deviations / sum of (k - 1)). Returns (std, groups with
    k >= 2); NaN when no group has two values."""
    ss, dof, used = 0.0, 0, 0
    for values in groups:
        k = len(values)
        if k < 2:
            continue
        mean = sum(values) / k
        ss += sum((v - mean) ** 2 for v in values)
        dof += k - 1
        used += 1
    return (math.sqrt(ss / dof) if dof else math.nan), used
