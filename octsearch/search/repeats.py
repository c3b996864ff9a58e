"""Repeat evaluations of the configurations a front is made of, inside the search.

Proxy accuracies are noisy (two seeds of one configuration differ by about a point on the
default space), so a front built from single runs ranks lucky seeds. A configuration on the
front, or within its noise of it, is evaluated again with further seeds until it has
``1 + seeds`` evaluations; the store then ranks it by the mean. Repeats are suggested by the
search itself, on the same workers, and count against the trial budget.

"Within its noise": no front member is both at most as expensive and more accurate by more than
``margin`` standard errors of the difference, ``margin * sqrt(se_front**2 + se_trial**2)``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from octsearch.errors import ConfigError


@dataclass(frozen=True)
class RepeatPolicy:
    """``seeds`` further seeds for each candidate; ``margin`` in standard errors; repeats take at
    most ``max_share`` of the trials a launch dispatches."""

    seeds: int = 0
    margin: float = 1.0
    max_share: float = 0.34

    def __post_init__(self) -> None:
        if isinstance(self.seeds, bool) or not isinstance(self.seeds, int) or self.seeds < 0:
            raise ConfigError(f"repeats={self.seeds!r}; accepted: an integer >= 0 (further seeds per candidate)")
        if not (isinstance(self.margin, (int, float)) and self.margin >= 0 and math.isfinite(self.margin)):
            raise ConfigError(f"noise margin={self.margin!r}; accepted: a number >= 0 (standard errors)")


def near_front(trial: Any, front: Sequence[Any], margin: float) -> bool:
    """True if no front member beats ``trial`` by more than the noise margin at no more FLOPs."""
    for f in front:
        if f.number == trial.number:
            return True
    se_t = trial.accuracy_stderr or 0.0
    for f in front:
        if f.flops <= trial.flops:
            gap = margin * math.sqrt((f.accuracy_stderr or 0.0) ** 2 + se_t**2)
            if f.accuracy > trial.accuracy + gap:
                return False
    return True


@dataclass(frozen=True)
class _Point:
    number: int
    accuracy: float
    accuracy_stderr: float
    flops: float
    n_evals: int


def pick_repeat(trials: Sequence[Any], front: Sequence[Any], policy: RepeatPolicy, flops_key: str,
                busy: set[int]) -> int | None:
    """The stored trial to evaluate again next, or None: among complete candidates with fewer than
    ``1 + seeds`` evaluations and not being repeated now, front members first, then the fewest
    evaluations, then the most accurate."""
    if policy.seeds == 0 or not front:
        return None

    def point(t: Any) -> _Point:
        return _Point(t.number, float(t.accuracy), float(t.accuracy_stderr or 0.0),
                      float(getattr(t, flops_key) or 0), int(t.n_evals))

    front_points = [point(t) for t in front]
    candidates = [
        point(t) for t in trials
        if t.status == "complete" and t.accuracy is not None and t.n_evals < 1 + policy.seeds
        and t.number not in busy
    ]
    candidates = [c for c in candidates if near_front(c, front_points, policy.margin)]
    if not candidates:
        return None
    on_front = {p.number for p in front_points}
    return min(candidates, key=lambda c: (c.number not in on_front, c.n_evals, -c.accuracy, c.number)).number


def next_seed(used: Sequence[int], base: int) -> int:
    """The smallest seed >= ``base`` not used by the configuration yet."""
    seed, taken = base, set(used)
    while seed in taken:
        seed += 1
    return seed
