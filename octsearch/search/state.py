"""Values the driver, the searcher and the scheduler share: answers to draws, the shared search
state with the driver's itemised time, and the space's objectives (no Ray import: the driver's
tests and the CLI read them without starting Ray).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from octsearch.configuration import Cost, flops_field
from octsearch.search.messages import METRIC_MODES, EvaluationRequest
from octsearch.spaces.space import SearchSpace


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
class Timings:
    """Where a search's driver spends its time, itemised for ``bench/overhead.py`` and the
    summary: seconds accumulated per item; ``count`` how often each was timed."""

    seconds: dict[str, float] = field(default_factory=dict)
    count: dict[str, int] = field(default_factory=dict)

    @contextlib.contextmanager
    def timed(self, item: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[item] = self.seconds.get(item, 0.0) + time.perf_counter() - start
            self.count[item] = self.count.get(item, 0) + 1


@dataclass
class SearchState:
    """Trials the scheduler stopped, repeat evaluations in flight (they bypass the sampler and the
    scheduler), and the driver's itemised time. Picklable: Tune pickles the scheduler holding it."""

    pruned: set[str] = field(default_factory=set)
    extra: dict[str, EvaluationRequest] = field(default_factory=dict)  # trial id -> repeat
    timings: Timings = field(default_factory=Timings)


@dataclass(frozen=True)
class Objectives:
    """A space's objectives, as the store names them and as workers report them."""

    store_names: tuple[str, ...]  # e.g. ("accuracy", "flops_paper", "latency_ms")
    metrics: tuple[str, ...]  # e.g. ("accuracy", "flops", "latency_ms")
    convention: str  # the FLOPs convention minimised: "paper" or "all"

    @property
    def flops_key(self) -> str:
        """The FLOPs field minimised: "flops_paper" or "flops_all"."""
        return flops_field(self.convention)

    @property
    def modes(self) -> list[str]:
        return [METRIC_MODES[m] for m in self.metrics]

    @classmethod
    def of(cls, space: SearchSpace) -> Objectives:
        convention = space.objectives.flops
        extra = tuple(name for name, on in (("params", space.objectives.params),
                                             ("latency_ms", space.objectives.latency)) if on)
        return cls(("accuracy", flops_field(convention), *extra), ("accuracy", "flops", *extra), convention)

    def values(self, accuracy: float, cost: Cost, latency_ms: float | None = None) -> tuple[float, ...]:
        """Objective values in metric order; a latency never measured (an infeasible configuration)
        counts as infinitely slow."""
        known = {"accuracy": float(accuracy), "flops": float(cost.flops(self.convention)),
                 "params": float(cost.param_count),
                 "latency_ms": float("inf") if latency_ms is None else float(latency_ms)}
        return tuple(known[m] for m in self.metrics)
