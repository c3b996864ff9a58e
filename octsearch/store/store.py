"""The result store: the system of record of every search, trial and evaluation.

Lifecycle of a trial as the search writes it::

    start_trial (running) -> record_evaluation (complete; again for each further seed)
                          -> record_failure (failed | pruned | infeasible | lost | interrupted)
    start_trial(budget=B) -> record_evaluation(budget=B) (scored: evaluated at B only; no proxy run owed)
    reconcile_running: after a crash, RUNNING leftovers become interrupted.

:class:`Store` is the one front door; the work is done by focused modules:

- :mod:`~octsearch.store.session`: transactions and the row lookups;
- :mod:`~octsearch.store.writes`: searches, trials and evaluations, with input checks;
- :mod:`~octsearch.store.front_upkeep`: the ``on_front`` flags, kept on every write;
- :mod:`~octsearch.store.reads`: records, the front and its hypervolume;
- :mod:`~octsearch.store.frames`: pandas views (pandas is imported only there).

Every write is one transaction. The trials' ``on_front`` flags are updated in the same
transaction as the accuracy they depend on, so :meth:`Store.front` is one indexed query.
Names and values reach SQL only as bound parameters.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import URL, Engine, inspect, text

from octsearch.configuration import Configuration
from octsearch.store import locks, reads, writes
from octsearch.store.records import (
    PROXY_BUDGET,
    EvaluationRecord,
    SearchRecord,
    SearchSpec,
    TrialRecord,
)
from octsearch.store.session import Sessions
from octsearch.store.urls import mask_url

if TYPE_CHECKING:
    import pandas as pd


class Store:
    """Searches, trials and evaluations in one SQL database (see :func:`open_store`)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self.url = mask_url(engine.url)  # for messages: never the password
        self._db = Sessions(engine, self.url)

    def close(self) -> None:
        self._engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({self.url!r})"

    # -- the database, for its other clients (Optuna's storage, locks between processes) ------

    @property
    def database_url(self) -> URL:
        """The database's URL with its password: for another client of the same database
        (Optuna's storage keeps its tables beside the store's)."""
        return self._engine.url

    def lock(self, name: str, *, wait: bool = True) -> contextlib.AbstractContextManager[None]:
        """Hold the lock ``name`` between processes on this database while the block runs;
        ``wait=False`` raises :class:`~octsearch.store.locks.LockTaken` at once if it is held."""
        return locks.hold(self._engine, name, wait=wait)

    def read_other_table(self, table: str, sql: str, params: Mapping[str, Any]) -> Any:
        """The first column of the first row of a read-only ``sql`` on a table the store does not
        own (Optuna's), or None if there is no such row or no such table (nothing is created)."""
        with self._engine.connect() as conn:
            if not inspect(conn).has_table(table):
                return None
            return conn.execute(text(sql), dict(params)).scalar()

    # -- searches ---------------------------------------------------------------------------

    def create_search(self, spec: SearchSpec, exist_ok: bool = False) -> SearchRecord:
        """Store a new search; with ``exist_ok`` return the existing one if it is the same.

        A name that exists with a different space file or model raises ConfigError.
        """
        return writes.create_search(self._db, spec, exist_ok)

    def get_search(self, name: str) -> SearchRecord:
        """The search called ``name`` (UnknownNameError listing the names otherwise)."""
        return reads.get_search(self._db, name)

    def list_searches(self) -> list[SearchRecord]:
        """Every search, oldest first, with its trial counts by status."""
        return reads.list_searches(self._db)

    def set_search_status(self, name: str, status: str) -> None:
        """Mark a search running, finished, interrupted or failed (the end time is set)."""
        writes.set_search_status(self._db, name, status)

    # -- trials: writes ---------------------------------------------------------------------

    def start_trial(self, search: str, configuration: Configuration, *, latency_ms: float | None = None,
                    node: str | None = None, budget: str = PROXY_BUDGET) -> int:
        """Register a configuration as running and return its trial number.

        A configuration seen before (the same :attr:`Configuration.key`) keeps its number: a
        complete or infeasible one is left as it is (a new evaluation adds a seed), a failed,
        pruned, scored or running one is set running again. A run at another ``budget`` (a
        supernet score, a calibration rung) leaves a stored trial's status alone, and a new trial
        it registers becomes ``scored`` with its first evaluation. Its cost (multiply-adds,
        parameter count) is stored when counted; a uniform configuration is marked as such.
        """
        return writes.start_trial(self._db, search, writes.NewTrial(configuration, latency_ms, node, budget))

    def record_evaluation(
        self,
        search: str,
        number: int,
        *,
        seed: int,
        accuracy: float,
        n_val: int,
        budget: str = PROXY_BUDGET,
        train_seconds: float | None = None,
        node: str | None = None,
        epoch_accuracies: Sequence[float] | None = None,
        latency_ms: float | None = None,
    ) -> TrialRecord:
        """Store one training run of trial ``number`` (validation accuracy as a fraction).

        ``latency_ms``, measured on the node that ran the trial, replaces the trial's latency.

        At the search's own budget ("proxy") the trial becomes complete, its mean, standard
        error and evaluation count are recomputed, and the front is updated. Results at other
        budgets (e.g. "full" from re-validation) are kept beside them.
        """
        run = writes.NewEvaluation(seed, accuracy, n_val, budget, train_seconds, node,
                                   epoch_accuracies, latency_ms)
        return writes.record_evaluation(self._db, search, number, run)

    def record_failure(
        self, search: str, number: int, error: str, status: str = "failed"
    ) -> TrialRecord:
        """Mark trial ``number`` failed, pruned (stopped early) or infeasible (over the FLOPs
        budget). A complete trial stays complete (a failed repeat seed); only its error is set."""
        return writes.record_failure(self._db, search, number, error, status)

    def reconcile_running(self, search: str) -> list[int]:
        """Mark trials left RUNNING by a driver that died as failed ("interrupted"); returns
        their numbers. Call it when resuming a search."""
        return writes.reconcile_running(self._db, search)

    def rebuild_front(self, search: str) -> int:
        """Recompute every ``on_front`` flag of a search from its accuracies (a repair tool;
        writes keep them up to date). Returns the size of the front."""
        return writes.rebuild_front(self._db, search)

    # -- reads ------------------------------------------------------------------------------

    def trials(self, search: str, status: str | None = None, *, limit: int | None = None,
               newest: bool = False) -> list[TrialRecord]:
        """Every trial of a search (optionally of one status), by number; at most ``limit`` of them,
        the highest numbers first if ``newest``."""
        return reads.trials(self._db, search, status, limit, newest)

    def trial(self, search: str, number: int) -> TrialRecord:
        return reads.trial(self._db, search, number)

    def evaluations(
        self, search: str, number: int | None = None, budget: str | None = None
    ) -> list[EvaluationRecord]:
        """Every stored evaluation of a search (or of one trial, or at one budget)."""
        return reads.evaluations(self._db, search, number, budget)

    def budgets(self, search: str) -> dict[str, int]:
        """Budgets with stored evaluations in a search -> number of evaluations."""
        return reads.budgets(self._db, search)

    def front(self, search: str, budget: str = PROXY_BUDGET) -> list[TrialRecord]:
        """The non-dominated complete trials over the search's objectives, cheapest first.

        A trial missing an objective's value (e.g. latency not measured) is never on the front.

        At the proxy budget this reads the maintained ``on_front`` flags (one indexed query).
        At another budget (e.g. "full") the trials are scored by the mean of their evaluations
        at that budget and the front is computed on read (re-validated sets are small).
        """
        return reads.front(self._db, search, budget)

    def scored_trials(self, search: str, budget: str) -> list[TrialRecord]:
        """Trials with evaluations at ``budget``, their accuracy the mean at that budget."""
        return reads.scored_trials(self._db, search, budget)

    def hypervolume(self, search: str, budget: str = PROXY_BUDGET) -> float:
        """Hypervolume of the (accuracy, FLOPs) front against the search's reference point.

        FLOPs (in the search's convention, see ``SearchRecord.flops_key``) are taken relative to
        the alpha-0 network, so the value is an area in units of
        accuracy (fraction) x fraction of the alpha-0 FLOPs saved; its maximum is
        1 - reference accuracy (a perfect network that costs nothing).
        """
        return reads.hypervolume(self._db, search, budget)

    # -- pandas -----------------------------------------------------------------------------

    def trials_frame(self, search: str, status: str | None = None) -> pd.DataFrame:
        """The trials as a pandas DataFrame, one ``alpha.<slot>`` column per slot."""
        from octsearch.store.frames import records_frame

        return records_frame(self.trials(search, status))

    def front_frame(self, search: str, budget: str = PROXY_BUDGET) -> pd.DataFrame:
        """The front as a pandas DataFrame (see :meth:`trials_frame`)."""
        from octsearch.store.frames import records_frame

        return records_frame(self.front(search, budget))
