"""Pareto-aware successive halving: early stopping that respects both objectives.

At each rung (an epoch before the last), a trial goes on only if fewer than ``ceil(n / eta)`` of
the ``n`` trials that reached the same rung dominate its (accuracy at that rung, FLOPs). ASHA
judges accuracy alone and would kill cheap configurations first; here a cheap trial survives as
long as few trials are both more accurate and cheaper. Stopped trials are marked in the driver's
:class:`~octsearch.search.state.Flights`, so the store records ``pruned`` and the sampler is told
PRUNED; repeat seeds and runs again are never stopped.

:class:`StopOnFlag` ends the whole experiment once Ctrl-C asked the search to stop.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from ray.tune.schedulers import FIFOScheduler, TrialScheduler
from ray.tune.stopper import Stopper

from octsearch.search.state import Flights
from octsearch.search.worker import WorkerReport


def scheduler_for(flights: Flights, epochs: int, early_stop: bool) -> ParetoHalvingScheduler | None:
    """The search's early-stopping scheduler (Tune's and a replay's): one rung after every epoch
    but the last; None without ``--early-stop`` or with one epoch."""
    return ParetoHalvingScheduler(flights, rungs=range(1, epochs)) if early_stop and epochs > 1 else None


def dominated_by(point: tuple[float, float], others: Sequence[tuple[float, float]], margin: float = 0.0) -> int:
    """How many of ``others`` dominate ``point`` = (accuracy, flops): at least ``margin`` more
    accurate and no more FLOPs, or as accurate and strictly cheaper."""
    acc, flops = point
    return sum(
        1 for a, f in others
        if f <= flops and a >= acc + margin and (a > acc or f < flops)
    )


class ParetoHalvingScheduler(FIFOScheduler):
    def __init__(self, flights: Flights, rungs: Sequence[int], eta: float = 2.0, min_peers: int = 4,
                 margin: float = 0.0) -> None:
        super().__init__()
        self._flights = flights
        self.rungs = tuple(sorted(set(rungs)))
        self.eta, self.min_peers, self.margin = eta, min_peers, margin
        self._seen: dict[int, list[tuple[float, float]]] = {r: [] for r in self.rungs}
        self.stopped_at: dict[str, int] = {}

    def on_trial_result(self, tune_controller, trial, result: dict) -> str:  # noqa: ANN001
        report = WorkerReport.from_tune(result)
        epoch = report.epoch
        if report.final or epoch not in self._seen or self._flights.bypasses_scheduler(trial.trial_id):
            return TrialScheduler.CONTINUE
        point = (report.accuracy, report.value("flops"))
        peers = self._seen[epoch]
        peers.append(point)
        if len(peers) < self.min_peers:
            return TrialScheduler.CONTINUE
        if dominated_by(point, peers, self.margin) >= math.ceil(len(peers) / self.eta):
            self._flights.prune(trial.trial_id)
            self.stopped_at[trial.trial_id] = int(epoch)
            return TrialScheduler.STOP
        return TrialScheduler.CONTINUE

    def debug_string(self) -> str:
        return f"ParetoHalving(rungs={self.rungs}, eta={self.eta}, stopped={len(self.stopped_at)})"


class StopOnFlag(Stopper):
    """A Tune stopper that ends the whole experiment once ``should_stop()`` (Ctrl-C) is true."""

    def __init__(self, should_stop: Callable[[], bool]) -> None:
        self._should_stop = should_stop

    def __call__(self, trial_id: str, result: dict) -> bool:
        return False

    def stop_all(self) -> bool:
        return self._should_stop()
