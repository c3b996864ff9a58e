"""Does the proxy rank configurations as the larger budget does? Pure functions over numbers.

- :func:`kendall_tau`: Kendall's tau-b between two scorings of the same configurations, with its
  two-sided p-value, from ``scipy.stats.kendalltau``.
- :func:`front_survival`: how many members of one front are still non-dominated when the same
  configurations are scored again.
- :func:`pooled_std`: the seed-to-seed standard deviation of repeated evaluations (the noise floor).
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from octsearch.pareto import Direction, non_dominated

K = TypeVar("K", bound=Hashable)

EXACT_MAX_N = 33  # scipy's rule: the exact null distribution up to here (no ties), normal beyond


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


def kendall_tau(x: Sequence[float], y: Sequence[float]) -> KendallTau:
    """Kendall's tau-b between paired scorings ``x`` and ``y`` (e.g. proxy and full accuracy),
    by ``scipy.stats.kendalltau`` (``method="auto"``: the exact null distribution without ties up
    to n = 33 or with at most one discordant pair, the tie-corrected normal approximation else)."""
    from scipy.stats import kendalltau

    if len(x) != len(y):
        raise ValueError(f"kendall_tau needs paired values; got {len(x)} and {len(y)}")
    n = len(x)
    if any(math.isnan(v) for v in (*x, *y)):
        raise ValueError("kendall_tau: values contain NaN")
    if n < 2 or len(set(x)) < 2 or len(set(y)) < 2:
        return KendallTau(math.nan, math.nan, n, "undefined")
    result = kendalltau(x, y, variant="b", method="auto")
    ties = len(set(x)) < n or len(set(y)) < n
    pairs = n * (n - 1) // 2
    discordant = round((1 - float(result.statistic)) * pairs / 2) if not ties else pairs
    exact = not ties and (n <= EXACT_MAX_N or min(discordant, pairs - discordant) <= 1)
    return KendallTau(float(result.statistic), float(result.pvalue), n, "exact" if exact else "asymptotic")


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
