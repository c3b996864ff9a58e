"""Values the driver, the searcher and the scheduler share (no Ray import: the driver's tests and
the CLI read them without starting Ray)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from octsearch.search.request import EvaluationRequest
from octsearch.search.timings import Timings


@dataclass(frozen=True)
class Verdict:
    """The answer to a configuration that is not dispatched: its objective values and how many
    multiply-adds it is over the FLOPs budget (<= 0: within). ``values=None``: the same
    configuration is running already; the sampler's draw is dropped (told as failed)."""

    values: tuple[float, ...] | None
    over_budget: float = 0.0


@dataclass(frozen=True)
class KnownPoint:
    """A recorded result handed to the sampler when a search resumes."""

    params: Mapping[str, float]
    state: str  # complete | pruned | failed
    values: tuple[float, ...] | None = None
    over_budget: float = 0.0


@dataclass
class SearchState:
    """Trials the scheduler stopped, repeat evaluations in flight (they bypass the sampler and the
    scheduler), and the driver's itemised time. Picklable: Tune pickles the scheduler holding it."""

    pruned: set[str] = field(default_factory=set)
    extra: dict[str, EvaluationRequest] = field(default_factory=dict)  # trial id -> repeat
    timings: Timings = field(default_factory=Timings)
