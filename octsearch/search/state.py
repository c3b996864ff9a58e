"""Values the driver, the searcher and the scheduler share: answers to draws, the trials in flight,
the driver's itemised time, and the space's objectives (no Ray import: the driver's
tests and the CLI read them without starting Ray).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from octsearch.configuration import Configuration, Cost, flops_field
from octsearch.search.worker import METRIC_MODES, EvaluationRequest
from octsearch.spaces.space import SearchSpace


@dataclass(frozen=True)
class DrawAnswer:
    """The answer to a configuration that is not dispatched: its objective values and how many
    multiply-adds it is over the FLOPs budget (<= 0: within). ``values=None``: the same
    configuration is running already; the sampler's draw is dropped (told as failed)."""

    values: tuple[float, ...] | None
    over_budget: float = 0.0


@dataclass(frozen=True)
class KnownPoint:
    """A recorded result handed to the sampler when a search resumes."""

    configuration: Configuration
    state: str  # complete | pruned | failed
    values: tuple[float, ...] | None = None
    over_budget: float = 0.0


@dataclass
class Flight:
    """One Tune trial from its dispatch to its end: what it evaluates, the sampler's draw it
    answers (None: a run again or a repeat seed, which bypass the sampler and the scheduler), the
    stored trial it writes to once started, and whether the scheduler stopped it."""

    request: EvaluationRequest
    draw: Any = None  # the sampler's Optuna trial, told when the flight ends
    number: int | None = None  # the stored trial, set when the trial starts
    started_at: float = 0.0  # wall clock at the start
    pruned: bool = False

    @property
    def bypasses_sampler(self) -> bool:
        return self.draw is None


class Flights:
    """Every trial in flight of one search, by Tune trial id: the one record of them, kept by the
    driver; the searcher adds one at dispatch, the scheduler marks it stopped, the driver ends it.
    A pickled copy (Tune pickles the scheduler holding it when the Tuner is built) holds no flights:
    a resumed search is rebuilt from the store."""

    def __init__(self) -> None:
        self._by_id: dict[str, Flight] = {}

    def __getstate__(self) -> dict[str, Any]:
        return {"_by_id": {}}

    def add(self, trial_id: str, flight: Flight) -> None:
        self._by_id[trial_id] = flight

    def get(self, trial_id: str) -> Flight | None:
        return self._by_id.get(trial_id)

    def pop(self, trial_id: str) -> Flight | None:
        return self._by_id.pop(trial_id, None)

    def prune(self, trial_id: str) -> None:
        """The scheduler stopped the trial: the sampler is told PRUNED, the store records it."""
        flight = self._by_id.get(trial_id)
        if flight is not None:
            flight.pruned = True

    def bypasses_scheduler(self, trial_id: str) -> bool:
        """A repeat seed or a run again: never stopped early (its configuration was judged already)."""
        flight = self._by_id.get(trial_id)
        return flight is not None and flight.bypasses_sampler

    @property
    def started(self) -> int:
        return sum(f.number is not None for f in self._by_id.values())

    @property
    def repeats_of(self) -> set[int]:
        """Stored trials whose repeat seed is in flight."""
        return {f.request.repeat_of for f in self._by_id.values() if f.request.repeat_of is not None}

    def draws(self) -> list[Any]:
        return [f.draw for f in self._by_id.values() if f.draw is not None]

    def __len__(self) -> int:
        return len(self._by_id)


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
        extra = tuple(name for name, on in (("param_count", space.objectives.param_count),
                                             ("latency_ms", space.objectives.latency)) if on)
        return cls(("accuracy", flops_field(convention), *extra), ("accuracy", "flops", *extra), convention)

    def values(self, accuracy: float, cost: Cost, latency_ms: float | None = None) -> tuple[float, ...]:
        """Objective values in metric order; a latency never measured (an infeasible configuration)
        counts as infinitely slow."""
        known = {"accuracy": float(accuracy), "flops": float(cost.flops(self.convention)),
                 "param_count": float(cost.param_count),
                 "latency_ms": float("inf") if latency_ms is None else float(latency_ms)}
        return tuple(known[m] for m in self.metrics)
