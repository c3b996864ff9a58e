"""The driver's writer: every trial reaches the store as it starts and as it ends.

Workers only compute and report; this Tune callback, running in the driver, is the one place
that writes trial results. A trial is registered RUNNING when it starts, so a driver killed
mid-search leaves rows that the next launch reconciles.
"""

from __future__ import annotations

import functools
import logging
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from ray.tune import Callback

from octsearch.search.searcher import SearchState
from octsearch.search.status import INTERRUPTED
from octsearch.search.worker import SEED_KEY, strip_private

log = logging.getLogger(__name__)

NUMBER_KEY = "__number"  # set on repeat evaluations: the stored trial they belong to


def first_line_of_error(trial: Any) -> str:
    """The exception line of a failed trial's traceback (last non-empty line)."""
    text = ""
    try:
        error = trial.get_error()
        text = str(error) if error is not None else ""
    except Exception:  # noqa: BLE001 (the error file may be gone)
        text = ""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "the trial failed (no error text)"


def _guarded(method: Callable) -> Callable:
    """A store error inside a Tune callback would fail the trial it reports on; log it instead
    (the driver log holds the traceback) and count it."""

    @functools.wraps(method)
    def wrapper(self: StoreRecorder, *args: Any, **kwargs: Any) -> None:
        try:
            with self._state.timings.timed("store writes"):
                method(self, *args, **kwargs)
        except Exception:  # noqa: BLE001
            log.exception("octsearch could not record a trial event")
            self.counts["unrecorded"] += 1

    return wrapper


class StoreRecorder(Callback):
    def __init__(self, store: Any, search: str, space: Any, state: SearchState, budget: str = "proxy",
                 stopped_at: Callable[[str], int | None] | None = None,
                 on_change: Callable[[], None] | None = None) -> None:
        self._store, self._search, self._space, self._state = store, search, space, state
        self._budget = budget
        self._stopped_at = stopped_at or (lambda trial_id: None)
        self._on_change = on_change or (lambda: None)
        self._numbers: dict[str, int] = {}
        self.counts: Counter[str] = Counter()
        self.running: set[str] = set()
        self.train_seconds = 0.0
        self.worker_seconds = 0.0  # wall time inside the trainable: data, model, FLOPs, training, evaluation
        self.eval_seconds = 0.0  # validation after each epoch
        self._started_at: dict[str, float] = {}
        self._prefetch_due = False
        # Per evaluated trial: (worker pid, driver start, trainable begins, trainable ends, driver
        # sees it complete), wall clock; the overhead benchmark splits dispatch and return from it.
        self.timeline: list[tuple[int, float, float, float, float]] = []

    def __getstate__(self) -> dict[str, Any]:
        # Tune pickles its callbacks with the experiment; the open store stays in the driver.
        state = self.__dict__.copy()
        state.update(_store=None, _on_change=None, _stopped_at=None)
        return state

    def number_of(self, trial_id: str) -> int | None:
        return self._numbers.get(trial_id)

    def on_trial_start(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self._record_start(trial)
        self._prefetch_due = True

    def on_step_end(self, iteration: int, trials: list, **info: Any) -> None:
        # The next draw, while the trials run: at the end of the loop step that started a trial
        # (Tune sends that trial its work only after on_trial_start returns).
        if not self._prefetch_due or self._state.prefetch is None:
            return
        self._prefetch_due = False
        try:
            self._state.prefetch()
        except Exception:  # noqa: BLE001 (the next suggest draws again and raises there)
            log.exception("octsearch could not prefetch the next configuration")

    @_guarded
    def _record_start(self, trial: Any) -> None:
        from octsearch.trial.check import check_config

        config = trial.config
        if NUMBER_KEY in config:
            number = int(config[NUMBER_KEY])
        else:
            params = strip_private(config)
            check = check_config(self._space, params)
            alpha = uniform_alpha(params)
            number = self._store.start_trial(
                self._search, check.alphas, params, flops_paper=check.flops_paper, flops_all=check.flops_all,
                params=check.params_count, is_uniform=alpha is not None, uniform_alpha=alpha,
            )
        self._numbers[trial.trial_id] = number
        self._started_at[trial.trial_id] = time.time()
        self.running.add(trial.trial_id)
        self._on_change()

    @_guarded
    def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        number = self._numbers.get(trial.trial_id)
        self.running.discard(trial.trial_id)
        started_at = self._started_at.pop(trial.trial_id, None)
        if number is None:
            return
        result = trial.last_result or {}
        repeat = NUMBER_KEY in trial.config
        if trial.trial_id in self._state.pruned:
            epoch = self._stopped_at(trial.trial_id)
            self._store.record_failure(
                self._search, number, f"stopped after epoch {epoch} by Pareto successive halving", status="pruned")
            self.counts["pruned"] += 1
        elif not result.get("final"):
            self._store.record_failure(self._search, number, f"{INTERRUPTED}: the search stopped before this trial finished")
            self.counts["interrupted"] += 1
        else:
            self._store.record_evaluation(
                self._search, number, seed=int(result["seed"]), accuracy=float(result["accuracy"]),
                n_val=int(result["n_val"]), budget=self._budget, train_seconds=float(result["train_seconds"]),
                node=str(result.get("node") or ""), epoch_accuracies=list(result.get("epoch_accuracies") or []),
                latency_ms=result.get("latency_ms"),
            )
            self.train_seconds += float(result["train_seconds"])
            self.worker_seconds += float(result.get("worker_seconds", result["train_seconds"]))
            self.eval_seconds += float(result.get("eval_seconds", 0.0))
            if "t_begin" in result and started_at is not None:
                self.timeline.append((int(result["pid"]), started_at, float(result["t_begin"]),
                                      float(result["t_end"]), time.time()))
            self.counts["repeat" if repeat else "complete"] += 1
        self._on_change()

    @_guarded
    def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        number = self._numbers.get(trial.trial_id)
        self.running.discard(trial.trial_id)
        self._started_at.pop(trial.trial_id, None)
        if number is not None:
            self._store.record_failure(self._search, number, first_line_of_error(trial))
        self.counts["failed"] += 1
        self._on_change()


def uniform_alpha(params: dict[str, float]) -> float | None:
    values = set(params.values())
    return float(values.pop()) if len(values) == 1 else None


__all__ = ["NUMBER_KEY", "SEED_KEY", "StoreRecorder", "first_line_of_error", "strip_private", "uniform_alpha"]
