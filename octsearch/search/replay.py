"""Replay: the search loop of ``launch`` answered from a table, in simulated time.

The same driver, sampler, warm start, FLOPs screen, repeats, pacing and (with ``--early-stop``)
the same Pareto successive halving run as in a search on Ray; instead of Tune, a simulated pool of
``concurrency`` workers answers each evaluation with a stored run of the table (the seed asked for
if stored, else a stored seed this search has not used for that configuration) and finishes it
after the run's stored training seconds. A configuration the table lacks is recorded failed
("not in table"), counted, and the search goes on. Nothing starts Ray: 200 evaluations replay in
seconds.
"""

from __future__ import annotations

import heapq
import itertools
from collections import defaultdict
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from octsearch.core.threads import one_torch_thread
from octsearch.search.driver import SearchDriver
from octsearch.search.scheduler import scheduler_for
from octsearch.search.tuner import TuneRun, TuneSettings, searcher_for
from octsearch.search.worker import EvaluationRequest, WorkerReport, request_of
from octsearch.tables.lookup import StoredRun, Table

NOT_IN_TABLE = "not in table"


@dataclass(order=True)
class _Due:
    """The next moment a running trial reports: an epoch's end (``epoch``) or its final result."""

    time: float
    order: int
    trial_id: str = field(compare=False)
    epoch: int = field(compare=False)


@dataclass
class _Running:
    request: EvaluationRequest
    run: StoredRun
    started: float


class Replay:
    """The simulated worker pool around one driver and its searcher."""

    def __init__(self, driver: SearchDriver, sampler: Any, settings: TuneSettings, table: Table) -> None:
        self.driver, self.table, self.settings = driver, table, settings
        self.searcher = searcher_for(driver, sampler, settings.seed_from, settings.points)
        self.scheduler = scheduler_for(driver.flights, driver.space.budget().epochs, settings.early_stop)
        self.now = 0.0
        driver.clock = lambda: self.now
        driver.started_at = 0.0
        self._due: list[_Due] = []
        self._running: dict[str, _Running] = {}
        self._used = _seeds_used(driver)  # configuration key -> seeds this search has used
        self._order = itertools.count()
        self._started = 0
        self._exhausted = False

    def run(self) -> TuneRun:
        self.driver.progress()
        while True:
            self._fill()
            if not self._due:
                break
            self._advance(heapq.heappop(self._due))
        return TuneRun("finished", self.now, 0.0, None)

    def _fill(self) -> None:
        """Start trials while a simulated worker is free and the budget has trials left."""
        while not self._exhausted and len(self._running) < self.settings.concurrency \
                and self._started < self.driver.remaining:
            trial_id = f"replay_{self._started:05d}"
            config = self.searcher.suggest(trial_id)
            if not isinstance(config, dict):  # None or Searcher.FINISHED: the sampler has no more
                self._exhausted = True
                return
            self._started += 1
            self._start(trial_id, request_of(config))
            self.searcher.prefetch()  # as the recorder does after every start

    def _start(self, trial_id: str, request: EvaluationRequest) -> None:
        self.driver.started(trial_id, request)
        cfg = request.configuration
        seed = self.driver.space.budget().seed if request.seed is None else request.seed
        run = self.table.answer(cfg, seed, self._used[cfg.key])
        if run is None:
            self.driver.errored(trial_id, f"{NOT_IN_TABLE} {self.table.name!r}: no stored run of "
                                          f"{cfg.by_param} left for this search")
            return
        self._used[cfg.key].add(run.seed)
        self._running[trial_id] = _Running(request, run, self.now)
        epochs = len(run.epoch_accuracies) if self.scheduler is not None else 1
        for epoch in range(1, epochs + 1):
            at = self.now + run.train_seconds * epoch / epochs
            heapq.heappush(self._due, _Due(at, next(self._order), trial_id, epoch if epoch < epochs else 0))

    def _advance(self, due: _Due) -> None:
        running = self._running.get(due.trial_id)
        if running is None:  # stopped at an earlier rung
            return
        self.now = due.time
        if due.epoch:
            self._rung(due.trial_id, running, due.epoch)
            return
        self._finish(due.trial_id, self._result(running))

    def _rung(self, trial_id: str, running: _Running, epoch: int) -> None:
        from ray.tune.schedulers import TrialScheduler

        report = WorkerReport(running.run.epoch_accuracies[epoch - 1], self._objectives(running), epoch, final=False)
        decision = self.scheduler.on_trial_result(None, SimpleNamespace(trial_id=trial_id), report.to_tune())
        if decision == TrialScheduler.STOP:
            self._finish(trial_id, report)

    def _finish(self, trial_id: str, report: WorkerReport) -> None:
        del self._running[trial_id]
        self.driver.completed(trial_id, report if report.final else None, "proxy")

    def _objectives(self, running: _Running) -> dict[str, float]:
        cost, space = running.request.configuration.counted, self.driver.space
        out = {"flops": float(cost.flops(space.objectives.flops)), "param_count": float(cost.param_count)}
        if space.objectives.latency:
            stored = self.table.trials.get(running.request.configuration.key)
            out["latency_ms"] = float("inf") if stored is None or stored.latency_ms is None else stored.latency_ms
        return out

    def _result(self, running: _Running) -> WorkerReport:
        """What a worker's final report holds, from the stored run (times are simulated seconds)."""
        run = running.run
        return WorkerReport(run.accuracy, self._objectives(running), len(run.epoch_accuracies), final=True,
                            seed=run.seed, n_val=run.n_val, epoch_accuracies=tuple(run.epoch_accuracies),
                            train_seconds=run.train_seconds, worker_seconds=run.train_seconds,
                            node=f"replay of {self.table.name}", t_begin=running.started, t_end=self.now)


def _seeds_used(driver: SearchDriver) -> dict[str, set[int]]:
    """The seeds a resumed replay used already, by configuration key."""
    keys = {t.number: t.configuration.key for t in driver.history}
    used: dict[str, set[int]] = defaultdict(set)
    for e in driver.store.evaluations(driver.name):
        used[keys[e.trial]].add(e.seed)
    return used


def run_replay(driver: SearchDriver, sampler: Any, settings: TuneSettings, table: Table) -> TuneRun:
    """Replay what is left of the driver's search on ``table``; set the search's status."""
    with one_torch_thread():
        result = Replay(driver, sampler, settings, table).run()
    driver.store.set_search_status(driver.name, "finished")
    return result
