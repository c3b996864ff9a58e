"""Every write of the store, each one transaction (see :class:`octsearch.store.Store`).

Inputs are checked before any SQL (:mod:`octsearch.store.checks`). Proxy-budget evaluations
update the ``on_front`` flags in the same transaction as the accuracy they depend on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from octsearch.configuration import Configuration
from octsearch.errors import ConfigError, StoreError
from octsearch.stats import binomial_stderr
from octsearch.store.checks import (
    FAILURE_STATUSES,
    check_choice,
    check_evaluation,
    check_spec,
    opt_int,
)
from octsearch.store.front_upkeep import point, recompute_front, update_front
from octsearch.store.models import SEARCH_STATUSES, EvaluationRow, SearchRow, TrialRow
from octsearch.store.records import (
    PROXY_BUDGET,
    SearchRecord,
    SearchSpec,
    TrialRecord,
    aggregate,
    now,
    search_record,
    trial_record,
)
from octsearch.store.session import Sessions, first_line, search_row, status_counts, trial_row

_MAX_ERROR_CHARS = 20_000
_RETRIES = 3  # concurrent writers of one search can race for a trial number


@dataclass(frozen=True)
class NewTrial:
    """A configuration to register, with its cost if counted (multiply-adds, parameter count)."""

    configuration: Configuration
    latency_ms: float | None = None
    node: str | None = None
    budget: str = PROXY_BUDGET  # the run being started: only a proxy run sets a stored trial running again


@dataclass(frozen=True)
class NewEvaluation:
    """One training run: ``accuracy`` is the fraction right of ``n_val`` validation images."""

    seed: int
    accuracy: float
    n_val: int
    budget: str = PROXY_BUDGET
    train_seconds: float | None = None
    node: str | None = None
    epoch_accuracies: Sequence[float] | None = None
    latency_ms: float | None = None


# -- searches -------------------------------------------------------------------------------------


def create_search(db: Sessions, spec: SearchSpec, exist_ok: bool = False) -> SearchRecord:
    check_spec(spec)
    try:
        with db.write() as session:
            existing = session.scalars(select(SearchRow).where(SearchRow.name == spec.name)).one_or_none()
            if existing is not None:
                return _existing(session, existing, spec, exist_ok)
            row = _new_search_row(spec)
            session.add(row)
            session.flush()
            return search_record(row, {})
    except IntegrityError:  # created by another process in between
        if not exist_ok:
            raise ConfigError(f"a search named {spec.name!r} already exists") from None
        return create_search(db, spec, exist_ok=True)


def _new_search_row(spec: SearchSpec) -> SearchRow:
    from octsearch import __version__

    return SearchRow(
        name=spec.name,
        space_text=spec.space_text,
        space_hash=spec.resolved_hash(),
        model_name=spec.model_name,
        model_args=dict(spec.model_args),
        objectives=list(spec.objectives),
        sampler=spec.sampler,
        sampler_args=dict(spec.sampler_args),
        seed=spec.seed,
        octsearch_version=spec.octsearch_version or __version__,
        created_at=now(),
        status="running",
        reference_accuracy=float(spec.reference_accuracy),
        reference_flops=int(spec.reference_flops),
        flops_budget=spec.flops_budget,
        kind=spec.kind,
        source=spec.source,
    )


def _existing(session: Session, row: SearchRow, spec: SearchSpec, exist_ok: bool) -> SearchRecord:
    """Resume a stored search only if it is the same search (space file and model)."""
    if not exist_ok:
        raise ConfigError(f"a search named {spec.name!r} already exists; choose another name or resume it")
    if row.space_hash != spec.resolved_hash():
        raise ConfigError(
            f"search {spec.name!r} exists with a different space file (sha256 "
            f"{row.space_hash[:12]} vs {spec.resolved_hash()[:12]}); choose another name"
        )
    if (row.kind, row.source) != (spec.kind, spec.source):
        raise ConfigError(f"search {spec.name!r} exists as a {_kind(row.kind, row.source)}, not a "
                          f"{_kind(spec.kind, spec.source)}; choose another name")
    if row.model_name != spec.model_name or row.model_args != dict(spec.model_args):
        raise ConfigError(
            f"search {spec.name!r} exists with model {row.model_name} {row.model_args}, "
            f"not {spec.model_name} {dict(spec.model_args)}; choose another name"
        )
    return search_record(row, status_counts(session, [row.id])[row.id])


def _kind(kind: str, source: str | None) -> str:
    return f"replay of table {source!r}" if kind == "replay" else kind


def set_search_status(db: Sessions, name: str, status: str) -> None:
    check_choice("search status", status, SEARCH_STATUSES)
    with db.write() as session:
        row = search_row(session, name, lock=True)
        row.status = status
        row.finished_at = None if status == "running" else now()


# -- trials ---------------------------------------------------------------------------------------


def start_trial(db: Sessions, search: str, trial: NewTrial) -> int:
    _check_new(trial)
    key = trial.configuration.key
    for attempt in range(_RETRIES):
        try:
            with db.write() as session:
                return _register(session, search_row(session, search, lock=True), key, trial)
        except IntegrityError as e:  # another writer took the number or the configuration
            if attempt == _RETRIES - 1:
                raise StoreError(
                    f"cannot register a trial of search {search!r} in {db.url}: {first_line(e)}"
                ) from None
    raise AssertionError("unreachable")


def _check_new(trial: NewTrial) -> None:
    """A Configuration was validated where it was built (its space, or a file); the store checks
    only that it is one, with at least one slot."""
    cfg = trial.configuration
    if not isinstance(cfg, Configuration) or not cfg.alphas:
        raise ConfigError(f"configuration {cfg!r}; accepted: a Configuration (a space's from_params, from_slots or uniform) "
                          "with at least one slot")
    if cfg.cost is not None:
        for name in ("flops_paper", "flops_all", "param_count"):
            opt_int(name, getattr(cfg.cost, name))


def _register(session: Session, srow: SearchRow, key: str, trial: NewTrial) -> int:
    """The number of the configuration ``key``: its old one if seen before, else the next."""
    row = session.scalars(
        select(TrialRow).where(TrialRow.search_id == srow.id, TrialRow.config_key == key)
    ).one_or_none()
    if row is not None:
        # complete and infeasible stay as they are; the rest run again at the proxy budget. A run at
        # another budget (a supernet score, a calibration rung) leaves the proxy's status alone.
        if trial.budget == PROXY_BUDGET and row.status not in ("complete", "infeasible"):
            row.status, row.error = "running", None
            row.started_at, row.finished_at = now(), None
            row.node = trial.node or row.node
        return row.number
    last = session.scalar(select(func.max(TrialRow.number)).where(TrialRow.search_id == srow.id))
    row = _new_trial_row(srow, 0 if last is None else last + 1, trial)
    session.add(row)
    session.flush()
    return row.number


def configuration_columns(cfg: Configuration) -> dict[str, Any]:
    """The trial row's configuration column and every column derived from it (the one place
    that takes a Configuration apart for SQL: its key for the unique index, its cost and its
    uniform alpha for plain queries)."""
    cost = cfg.cost
    return {
        "configuration": cfg.to_json(),
        "config_key": cfg.key,
        "flops_paper": None if cost is None else cost.flops_paper,
        "flops_all": None if cost is None else cost.flops_all,
        "param_count": None if cost is None else cost.param_count,
        "is_uniform": cfg.uniform_alpha is not None,
        "uniform_alpha": cfg.uniform_alpha,
    }


def _new_trial_row(srow: SearchRow, number: int, trial: NewTrial) -> TrialRow:
    return TrialRow(
        search_id=srow.id,
        number=number,
        **configuration_columns(trial.configuration),
        latency_ms=trial.latency_ms,
        status="running",
        n_evals=0,
        node=trial.node,
        started_at=now(),
        on_front=False,
    )


def record_evaluation(db: Sessions, search: str, number: int, run: NewEvaluation) -> TrialRecord:
    check_evaluation(run.seed, run.accuracy, run.n_val, run.budget, run.epoch_accuracies)
    try:
        with db.write() as session:
            srow = search_row(session, search, lock=True)
            row = trial_row(session, srow, number)
            session.add(_new_evaluation_row(row, run))
            session.flush()
            if run.budget == PROXY_BUDGET:
                _rescore(session, srow, row, run)
            elif row.status == "running" and row.n_evals == 0:  # registered for this score: no proxy run owed
                row.status, row.finished_at = "scored", now()
            return trial_record(row, srow.name)
    except IntegrityError:
        raise ConfigError(
            f"trial {number} of search {search!r} already has an evaluation with seed "
            f"{run.seed} at budget {run.budget!r}; use another seed"
        ) from None


def _new_evaluation_row(row: TrialRow, run: NewEvaluation) -> EvaluationRow:
    epochs = run.epoch_accuracies
    return EvaluationRow(
        trial_id=row.id,
        seed=run.seed,
        budget=run.budget,
        accuracy=float(run.accuracy),
        n_val=run.n_val,
        stderr=binomial_stderr(float(run.accuracy), run.n_val),
        train_seconds=run.train_seconds,
        node=run.node,
        created_at=now(),
        epoch_accuracies=None if epochs is None else [float(a) for a in epochs],
    )


def _rescore(session: Session, srow: SearchRow, row: TrialRow, run: NewEvaluation) -> None:
    """The proxy budget is the search's own: the trial's mean moves, and the front with it."""
    old = point(srow, row) if row.on_front else None
    if run.latency_ms is not None:
        row.latency_ms = float(run.latency_ms)
    evals = session.execute(
        select(EvaluationRow.accuracy, EvaluationRow.n_val, EvaluationRow.train_seconds).where(
            EvaluationRow.trial_id == row.id, EvaluationRow.budget == PROXY_BUDGET
        )
    ).all()
    row.accuracy, row.accuracy_stderr = aggregate([e[0] for e in evals], [e[1] for e in evals])
    row.n_evals = len(evals)
    row.train_seconds = sum(e[2] for e in evals if e[2] is not None) or None
    row.status, row.error, row.finished_at = "complete", None, now()
    row.node = run.node or row.node
    update_front(session, srow, row, old)


def record_failure(db: Sessions, search: str, number: int, error: str, status: str) -> TrialRecord:
    check_choice("failure status", status, FAILURE_STATUSES)
    with db.write() as session:
        srow = search_row(session, search, lock=True)
        row = trial_row(session, srow, number)
        row.error = error[:_MAX_ERROR_CHARS] if error else None  # the status says why, not a sentence
        if row.status != "complete":  # a failed repeat seed leaves the trial's result standing
            row.status, row.finished_at = status, now()
        return trial_record(row, srow.name)


def reconcile_running(db: Sessions, search: str) -> list[int]:
    with db.write() as session:
        srow = search_row(session, search, lock=True)
        rows = session.scalars(
            select(TrialRow).where(TrialRow.search_id == srow.id, TrialRow.status == "running")
        ).all()
        for row in rows:
            row.status, row.finished_at = "interrupted", now()
            row.error = "the search stopped before this trial finished"
        return sorted(r.number for r in rows)


def rebuild_front(db: Sessions, search: str) -> int:
    with db.write() as session:
        return recompute_front(session, search_row(session, search, lock=True))
