"""The result store: the system of record of every search, trial and evaluation.

Lifecycle of a trial as the search writes it::

    start_trial (running) -> record_evaluation (complete; again for each further seed)
                          -> record_failure (failed | pruned | infeasible)
    reconcile_running: after a crash, RUNNING leftovers become failed ("interrupted").

Every write is one transaction. The trials' ``on_front`` flags are updated in the same
transaction as the accuracy they depend on, so :meth:`Store.front` is one indexed query.
Names and values reach SQL only as bound parameters.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, func, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from octsearch.errors import ConfigError, StoreError, unknown_name
from octsearch.stats import binomial_stderr
from octsearch.store import front as front_math
from octsearch.store.models import SEARCH_STATUSES, EvaluationRow, SearchRow, TrialRow
from octsearch.store.records import (
    OBJECTIVES,
    PROXY_BUDGET,
    EvaluationRecord,
    SearchRecord,
    SearchSpec,
    TrialRecord,
    aggregate,
    config_key,
    evaluation_record,
    flops_objective,
    now,
    search_record,
    trial_record,
)
from octsearch.store.urls import WRITE_OPTION, mask_url

if TYPE_CHECKING:
    import pandas as pd

FAILURE_STATUSES = ("failed", "pruned", "infeasible")
_MAX_ERROR_CHARS = 20_000


def _first_line(error: BaseException) -> str:
    text = str(getattr(error, "orig", None) or error).strip()
    return text.splitlines()[0] if text else type(error).__name__


class Store:
    """Searches, trials and evaluations in one SQL database (see :func:`open_store`)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self.url = mask_url(engine.url)  # for messages: never the password

    def close(self) -> None:
        self._engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({self.url!r})"

    # -- transactions -----------------------------------------------------------------------

    @contextmanager
    def _write(self) -> Iterator[Session]:
        try:
            with self._engine.connect() as conn:
                conn.execution_options(**{WRITE_OPTION: True})
                with conn.begin(), Session(bind=conn, expire_on_commit=False) as session:
                    yield session
                    session.flush()
        except IntegrityError:
            raise
        except DBAPIError as e:
            raise StoreError(f"cannot write to {self.url}: {_first_line(e)}") from e

    @contextmanager
    def _read(self) -> Iterator[Session]:
        try:
            with Session(self._engine) as session:
                yield session
        except DBAPIError as e:
            raise StoreError(f"cannot read from {self.url}: {_first_line(e)}") from e

    def _search_row(self, session: Session, name: str, lock: bool = False) -> SearchRow:
        query = select(SearchRow).where(SearchRow.name == name)
        if lock:
            query = query.with_for_update()
        row = session.scalars(query).one_or_none()
        if row is None:
            names = session.scalars(select(SearchRow.name)).all()
            raise unknown_name("search", name, list(names))
        return row

    def _trial_row(self, session: Session, search: SearchRow, number: int) -> TrialRow:
        row = session.scalars(
            select(TrialRow).where(TrialRow.search_id == search.id, TrialRow.number == number)
        ).one_or_none()
        if row is None:
            count = session.scalar(select(func.count()).where(TrialRow.search_id == search.id))
            raise ConfigError(
                f"search {search.name!r} has no trial {number!r}; its trials are numbered 0 to "
                f"{(count or 0) - 1}"
            )
        return row

    def _counts(self, session: Session, search_ids: Sequence[int]) -> dict[int, dict[str, int]]:
        counts: dict[int, dict[str, int]] = {i: {} for i in search_ids}
        rows = session.execute(
            select(TrialRow.search_id, TrialRow.status, func.count())
            .where(TrialRow.search_id.in_(search_ids))
            .group_by(TrialRow.search_id, TrialRow.status)
        )
        for search_id, status, n in rows:
            counts[search_id][status] = n
        return counts

    # -- searches ---------------------------------------------------------------------------

    def create_search(self, spec: SearchSpec, exist_ok: bool = False) -> SearchRecord:
        """Store a new search; with ``exist_ok`` return the existing one if it is the same.

        A name that exists with a different space file or model raises ConfigError.
        """
        _check_spec(spec)
        from octsearch import __version__

        try:
            with self._write() as session:
                existing = session.scalars(
                    select(SearchRow).where(SearchRow.name == spec.name)
                ).one_or_none()
                if existing is not None:
                    return self._existing(session, existing, spec, exist_ok)
                row = SearchRow(
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
                )
                session.add(row)
                session.flush()
                return search_record(row, {})
        except IntegrityError:  # created by another process in between
            if not exist_ok:
                raise ConfigError(f"a search named {spec.name!r} already exists") from None
            return self.create_search(spec, exist_ok=True)

    def _existing(
        self, session: Session, row: SearchRow, spec: SearchSpec, exist_ok: bool
    ) -> SearchRecord:
        if not exist_ok:
            raise ConfigError(
                f"a search named {spec.name!r} already exists; choose another name or resume it"
            )
        if row.space_hash != spec.resolved_hash():
            raise ConfigError(
                f"search {spec.name!r} exists with a different space file (sha256 "
                f"{row.space_hash[:12]} vs {spec.resolved_hash()[:12]}); choose another name"
            )
        if row.model_name != spec.model_name or row.model_args != dict(spec.model_args):
            raise ConfigError(
                f"search {spec.name!r} exists with model {row.model_name} {row.model_args}, "
                f"not {spec.model_name} {dict(spec.model_args)}; choose another name"
            )
        return search_record(row, self._counts(session, [row.id])[row.id])

    def get_search(self, name: str) -> SearchRecord:
        """The search called ``name`` (UnknownNameError listing the names otherwise)."""
        with self._read() as session:
            row = self._search_row(session, name)
            return search_record(row, self._counts(session, [row.id])[row.id])

    def list_searches(self) -> list[SearchRecord]:
        """Every search, oldest first, with its trial counts by status."""
        with self._read() as session:
            rows = session.scalars(select(SearchRow).order_by(SearchRow.created_at, SearchRow.id)).all()
            counts = self._counts(session, [r.id for r in rows])
            return [search_record(r, counts[r.id]) for r in rows]

    def set_search_status(self, name: str, status: str) -> None:
        """Mark a search running, finished, interrupted or failed (the end time is set)."""
        if status not in SEARCH_STATUSES:
            raise ConfigError(
                f"search status {status!r} is not one of: {', '.join(SEARCH_STATUSES)}"
            )
        with self._write() as session:
            row = self._search_row(session, name, lock=True)
            row.status = status
            row.finished_at = None if status == "running" else now()

    # -- trials: writes ---------------------------------------------------------------------

    def start_trial(
        self,
        search: str,
        alphas: Mapping[str, float],
        config: Mapping[str, Any] | None = None,
        *,
        flops_paper: int | None,
        flops_all: int | None,
        params: int | None,
        latency_ms: float | None = None,
        is_uniform: bool = False,
        uniform_alpha: float | None = None,
        node: str | None = None,
    ) -> int:
        """Register a configuration as running and return its trial number.

        A configuration seen before keeps its number: a complete or infeasible one is left as it
        is (a new evaluation adds a seed), a failed, pruned or running one is set running again.
        ``flops_*`` are multiply-adds, ``params`` the parameter count.
        """
        alphas = _check_alphas(alphas)
        key = config_key(alphas)
        for attempt in range(3):
            try:
                with self._write() as session:
                    srow = self._search_row(session, search, lock=True)
                    row = session.scalars(
                        select(TrialRow).where(
                            TrialRow.search_id == srow.id, TrialRow.config_key == key
                        )
                    ).one_or_none()
                    if row is not None:
                        if row.status in ("failed", "pruned", "running"):
                            row.status, row.error = "running", None
                            row.started_at, row.finished_at = now(), None
                            row.node = node or row.node
                        return row.number
                    last = session.scalar(
                        select(func.max(TrialRow.number)).where(TrialRow.search_id == srow.id)
                    )
                    row = TrialRow(
                        search_id=srow.id,
                        number=0 if last is None else last + 1,
                        config_key=key,
                        alphas=alphas,
                        config=dict(config or {}),
                        flops_paper=_opt_int("flops_paper", flops_paper),
                        flops_all=_opt_int("flops_all", flops_all),
                        params_count=_opt_int("params", params),
                        latency_ms=latency_ms,
                        status="running",
                        n_evals=0,
                        is_uniform=bool(is_uniform),
                        uniform_alpha=uniform_alpha,
                        node=node,
                        started_at=now(),
                        on_front=False,
                    )
                    session.add(row)
                    session.flush()
                    return row.number
            except IntegrityError as e:  # another writer took the number or the configuration
                if attempt == 2:
                    raise StoreError(
                        f"cannot register a trial of search {search!r} in {self.url}: "
                        f"{_first_line(e)}"
                    ) from None
        raise AssertionError("unreachable")

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
        _check_evaluation(seed, accuracy, n_val, budget, epoch_accuracies)
        try:
            with self._write() as session:
                srow = self._search_row(session, search, lock=True)
                row = self._trial_row(session, srow, number)
                session.add(
                    EvaluationRow(
                        trial_id=row.id,
                        seed=seed,
                        budget=budget,
                        accuracy=float(accuracy),
                        n_val=n_val,
                        stderr=binomial_stderr(float(accuracy), n_val),
                        train_seconds=train_seconds,
                        node=node,
                        created_at=now(),
                        epoch_accuracies=None if epoch_accuracies is None else [float(a) for a in epoch_accuracies],
                    )
                )
                session.flush()
                if budget == PROXY_BUDGET:
                    old = self._point(srow, row) if row.on_front else None
                    if latency_ms is not None:
                        row.latency_ms = float(latency_ms)
                    self._aggregate(session, row, node)
                    self._update_front(session, srow, row, old)
                return trial_record(row, srow.name)
        except IntegrityError:
            raise ConfigError(
                f"trial {number} of search {search!r} already has an evaluation with seed "
                f"{seed} at budget {budget!r}; use another seed"
            ) from None

    def _aggregate(self, session: Session, row: TrialRow, node: str | None) -> None:
        evals = session.execute(
            select(EvaluationRow.accuracy, EvaluationRow.n_val, EvaluationRow.train_seconds).where(
                EvaluationRow.trial_id == row.id, EvaluationRow.budget == PROXY_BUDGET
            )
        ).all()
        row.accuracy, row.accuracy_stderr = aggregate([e[0] for e in evals], [e[1] for e in evals])
        row.n_evals = len(evals)
        row.train_seconds = sum(e[2] for e in evals if e[2] is not None) or None
        row.status, row.error, row.finished_at = "complete", None, now()
        row.node = node or row.node

    def record_failure(
        self, search: str, number: int, error: str, status: str = "failed"
    ) -> TrialRecord:
        """Mark trial ``number`` failed, pruned (stopped early) or infeasible (over the FLOPs
        budget). A complete trial stays complete (a failed repeat seed); only its error is set."""
        if status not in FAILURE_STATUSES:
            raise ConfigError(
                f"failure status {status!r} is not one of: {', '.join(FAILURE_STATUSES)}"
            )
        with self._write() as session:
            srow = self._search_row(session, search, lock=True)
            row = self._trial_row(session, srow, number)
            row.error = (error or status)[:_MAX_ERROR_CHARS]
            if row.status != "complete":
                row.status, row.finished_at = status, now()
            return trial_record(row, srow.name)

    def reconcile_running(self, search: str) -> list[int]:
        """Mark trials left RUNNING by a driver that died as failed ("interrupted"); returns
        their numbers. Call it when resuming a search."""
        with self._write() as session:
            srow = self._search_row(session, search, lock=True)
            rows = session.scalars(
                select(TrialRow).where(TrialRow.search_id == srow.id, TrialRow.status == "running")
            ).all()
            for row in rows:
                row.status, row.finished_at = "failed", now()
                row.error = "interrupted: the search stopped before this trial finished"
            return sorted(r.number for r in rows)

    def rebuild_front(self, search: str) -> int:
        """Recompute every ``on_front`` flag of a search from its accuracies (a repair tool;
        writes keep them up to date). Returns the size of the front."""
        with self._write() as session:
            srow = self._search_row(session, search, lock=True)
            return self._recompute_front(session, srow)

    # -- the front, kept on write --------------------------------------------------------

    def _objective_columns(self, srow: SearchRow) -> tuple[list[Any], list[str]]:
        names = list(srow.objectives) if isinstance(srow.objectives, list) else list(OBJECTIVES)
        cols, dirs = [], []
        for name in names:
            attr, direction = OBJECTIVES.get(name, (None, None))
            if attr is None:
                raise StoreError(
                    f"corrupted row in search {srow.name!r}: unknown objective {name!r}"
                )
            cols.append(getattr(TrialRow, "params_count" if attr == "params" else attr))
            dirs.append(direction)
        return cols, dirs

    def _point(self, srow: SearchRow, row: TrialRow) -> list[Any]:
        return [getattr(row, c.key) for c in self._objective_columns(srow)[0]]

    def _update_front(
        self, session: Session, srow: SearchRow, row: TrialRow, old_point: list[Any] | None
    ) -> None:
        """Keep ``on_front`` exact after ``row``'s point changed (``old_point``: its point
        before, if it was a member).

        A trial that was not on the front was dominated by a member, which dominates whatever
        the trial dominated: only members can leave, and only the trial can join. A member that
        moves can also free the points that it alone dominated; those lie in the box its old
        point dominated, so only that box is read back, not the whole search.
        """
        cols, dirs = self._objective_columns(srow)
        point = [getattr(row, c.key) for c in cols]
        if any(v is None for v in point):
            return
        members = session.execute(
            select(TrialRow.id, *cols).where(
                TrialRow.search_id == srow.id, TrialRow.on_front.is_(True), TrialRow.id != row.id
            )
        ).all()
        if old_point is None:
            if any(front_math.dominates(m[1:], point, dirs) for m in members):
                return
            row.on_front = True
            self._set_front(session, [m[0] for m in members if front_math.dominates(point, m[1:], dirs)], False)
            return
        in_box = [c <= v if d == "max" else c >= v for c, v, d in zip(cols, old_point, dirs, strict=True)]
        candidates = session.execute(
            select(TrialRow.id, *cols).where(
                TrialRow.search_id == srow.id,
                TrialRow.status == "complete",
                TrialRow.on_front.is_(False),
                TrialRow.id != row.id,
                *in_box,
            )
        ).all()
        pool = [*members, *candidates, (row.id, *point)]
        keep = {pool[i][0] for i in front_math.non_dominated([p[1:] for p in pool], dirs)}
        row.on_front = row.id in keep
        self._set_front(session, [m[0] for m in members if m[0] not in keep], False)
        self._set_front(session, [c[0] for c in candidates if c[0] in keep], True)

    def _set_front(self, session: Session, ids: list[int], flag: bool) -> None:
        for chunk in range(0, len(ids), 500):
            session.execute(
                update(TrialRow)
                .where(TrialRow.id.in_(ids[chunk : chunk + 500]))
                .values(on_front=flag)
                .execution_options(synchronize_session="fetch")
            )

    def _recompute_front(self, session: Session, srow: SearchRow) -> int:
        session.flush()
        cols, dirs = self._objective_columns(srow)
        rows = session.execute(
            select(TrialRow.id, TrialRow.on_front, *cols).where(
                TrialRow.search_id == srow.id,
                TrialRow.status == "complete",
                *(c.is_not(None) for c in cols),
            )
        ).all()
        keep = set(front_math.non_dominated([r[2:] for r in rows], dirs))
        on = [r[0] for i, r in enumerate(rows) if i in keep and not r[1]]
        off = [r[0] for i, r in enumerate(rows) if i not in keep and r[1]]
        self._set_front(session, on, True)
        self._set_front(session, off, False)
        # members that left the complete state (none today) or lost an objective value
        session.execute(
            update(TrialRow)
            .where(TrialRow.search_id == srow.id, TrialRow.on_front.is_(True), TrialRow.status != "complete")
            .values(on_front=False)
            .execution_options(synchronize_session="fetch")
        )
        return len(keep)

    # -- reads ------------------------------------------------------------------------------

    def trials(self, search: str, status: str | None = None, *, limit: int | None = None,
               newest: bool = False) -> list[TrialRecord]:
        """Every trial of a search (optionally of one status), by number; at most ``limit`` of them,
        the highest numbers first if ``newest``."""
        from octsearch.store.models import TRIAL_STATUSES

        if status is not None and status not in TRIAL_STATUSES:
            raise ConfigError(f"trial status {status!r} is not one of: {', '.join(TRIAL_STATUSES)}")
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
            raise ConfigError(f"limit={limit!r}; accepted: an integer >= 1, or none for every trial")
        with self._read() as session:
            srow = self._search_row(session, search)
            query = select(TrialRow).where(TrialRow.search_id == srow.id)
            if status is not None:
                query = query.where(TrialRow.status == status)
            query = query.order_by(TrialRow.number.desc() if newest else TrialRow.number).limit(limit)
            return [trial_record(r, srow.name) for r in session.scalars(query).all()]

    def trial(self, search: str, number: int) -> TrialRecord:
        with self._read() as session:
            srow = self._search_row(session, search)
            return trial_record(self._trial_row(session, srow, number), srow.name)

    def evaluations(
        self, search: str, number: int | None = None, budget: str | None = None
    ) -> list[EvaluationRecord]:
        """Every stored evaluation of a search (or of one trial, or at one budget)."""
        with self._read() as session:
            srow = self._search_row(session, search)
            query = (
                select(EvaluationRow, TrialRow.number)
                .join(TrialRow, EvaluationRow.trial_id == TrialRow.id)
                .where(TrialRow.search_id == srow.id)
            )
            if number is not None:
                query = query.where(TrialRow.number == number)
            if budget is not None:
                query = query.where(EvaluationRow.budget == budget)
            rows = session.execute(query.order_by(TrialRow.number, EvaluationRow.id)).all()
            return [evaluation_record(e, srow.name, n) for e, n in rows]

    def budgets(self, search: str) -> dict[str, int]:
        """Budgets with stored evaluations in a search -> number of evaluations."""
        with self._read() as session:
            srow = self._search_row(session, search)
            rows = session.execute(
                select(EvaluationRow.budget, func.count())
                .join(TrialRow, EvaluationRow.trial_id == TrialRow.id)
                .where(TrialRow.search_id == srow.id)
                .group_by(EvaluationRow.budget)
            ).all()
            return dict(rows)  # type: ignore[arg-type]

    def front(self, search: str, budget: str = PROXY_BUDGET) -> list[TrialRecord]:
        """The non-dominated complete trials over the search's objectives, cheapest first.

        A trial missing an objective's value (e.g. latency not measured) is never on the front.

        At the proxy budget this reads the maintained ``on_front`` flags (one indexed query).
        At another budget (e.g. "full") the trials are scored by the mean of their evaluations
        at that budget and the front is computed on read (re-validated sets are small).
        """
        if budget == PROXY_BUDGET:
            with self._read() as session:
                srow = self._search_row(session, search)
                rows = session.scalars(
                    select(TrialRow).where(TrialRow.search_id == srow.id, TrialRow.on_front.is_(True))
                ).all()
                records = [trial_record(r, srow.name) for r in rows]
                fkey = flops_objective(list(srow.objectives))
        else:
            scored = self.scored_trials(search, budget)
            objs = self.get_search(search).objectives
            dirs = [OBJECTIVES[o][1] for o in objs]
            usable = [t for t in scored if all(t.objective(o) is not None for o in objs)]
            keep = front_math.non_dominated([[t.objective(o) for o in objs] for t in usable], dirs)  # type: ignore[misc]
            records = [replace(usable[i], on_front=True) for i in keep]
            fkey = flops_objective(objs)
        return sorted(records, key=lambda t: (getattr(t, fkey) or 0, -(t.accuracy or 0), t.number))

    def scored_trials(self, search: str, budget: str) -> list[TrialRecord]:
        """Trials with evaluations at ``budget``, their accuracy the mean at that budget."""
        if budget == PROXY_BUDGET:
            return self.trials(search, status="complete")
        evals = self.evaluations(search, budget=budget)
        if not evals:
            present = sorted({PROXY_BUDGET, *self.budgets(search)})
            raise unknown_name(f"budget of search {search!r}", budget, present)
        by_trial: dict[int, list[EvaluationRecord]] = {}
        for e in evals:
            by_trial.setdefault(e.trial, []).append(e)
        out = []
        for t in self.trials(search):
            if t.number in by_trial:
                es = by_trial[t.number]
                mean, se = aggregate([e.accuracy for e in es], [e.n_val for e in es])
                out.append(
                    replace(t, accuracy=mean, accuracy_stderr=se, n_evals=len(es), budget=budget,
                            on_front=False)
                )
        return out

    def hypervolume(self, search: str, budget: str = PROXY_BUDGET) -> float:
        """Hypervolume of the (accuracy, FLOPs) front against the search's reference point.

        FLOPs (in the search's convention, see ``SearchRecord.flops_key``) are taken relative to
        the alpha-0 network, so the value is an area in units of
        accuracy (fraction) x fraction of the alpha-0 FLOPs saved; its maximum is
        1 - reference accuracy (a perfect network that costs nothing).
        """
        record = self.get_search(search)
        ref_flops = float(record.reference_flops)
        fkey = record.flops_key
        points = [
            (t.accuracy, getattr(t, fkey) / ref_flops)
            for t in self.front(search, budget)
            if t.accuracy is not None and getattr(t, fkey) is not None
        ]
        return front_math.hypervolume(points, (record.reference_accuracy, 1.0), ["max", "min"])

    # -- pandas -----------------------------------------------------------------------------

    def trials_frame(self, search: str, status: str | None = None) -> pd.DataFrame:
        """The trials as a pandas DataFrame, one ``alpha.<slot>`` column per slot."""
        from octsearch.store.frames import records_frame

        return records_frame(self.trials(search, status))

    def front_frame(self, search: str, budget: str = PROXY_BUDGET) -> pd.DataFrame:
        """The front as a pandas DataFrame (see :meth:`trials_frame`)."""
        from octsearch.store.frames import records_frame

        return records_frame(self.front(search, budget))


# -- input checks (one-line ConfigError naming the value) ---------------------------------------


def _check_spec(spec: SearchSpec) -> None:
    if not isinstance(spec.name, str) or not spec.name.strip() or len(spec.name) > 200:
        raise ConfigError(f"search name {spec.name!r} must be 1 to 200 characters")
    bad = [o for o in spec.objectives if o not in OBJECTIVES]
    if bad or "accuracy" not in spec.objectives or len(spec.objectives) < 2:
        raise ConfigError(
            f"objectives {list(spec.objectives)!r} must include 'accuracy' and at least one of: "
            + ", ".join(o for o in OBJECTIVES if o != "accuracy")
        )
    if not 0 <= spec.reference_accuracy < 1:
        raise ConfigError(
            f"reference accuracy {spec.reference_accuracy!r} must be a fraction in [0, 1) (chance level)"
        )
    if int(spec.reference_flops) <= 0:
        raise ConfigError(
            f"reference FLOPs {spec.reference_flops!r} must be the positive multiply-adds of the alpha-0 network"
        )


def _check_alphas(alphas: Mapping[str, float]) -> dict[str, float]:
    if not isinstance(alphas, Mapping) or not alphas:
        raise ConfigError(f"alphas {alphas!r} must be a non-empty mapping slot -> alpha")
    out = {}
    for slot, alpha in alphas.items():
        if not isinstance(slot, str) or isinstance(alpha, bool) or not isinstance(alpha, (int, float)):
            raise ConfigError(f"alpha {slot!r}: {alpha!r} must be a slot name -> number")
        if not 0 <= alpha < 1 or math.isnan(alpha):
            raise ConfigError(f"alpha of slot {slot!r} is {alpha!r}; accepted: 0 <= alpha < 1")
        out[slot] = float(alpha)
    return out


def _opt_int(name: str, value: int | None) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or int(value) != value or value < 0:
        raise ConfigError(f"{name} {value!r} must be a non-negative whole number")
    return int(value)


def _check_evaluation(
    seed: int, accuracy: float, n_val: int, budget: str, epochs: Sequence[float] | None
) -> None:
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ConfigError(f"seed {seed!r} must be an integer")
    if not isinstance(accuracy, (int, float)) or not 0 <= accuracy <= 1:
        raise ConfigError(f"accuracy {accuracy!r} must be a fraction in [0, 1] (validation split)")
    if isinstance(n_val, bool) or not isinstance(n_val, int) or n_val <= 0:
        raise ConfigError(f"validation size {n_val!r} must be a positive integer")
    if not isinstance(budget, str) or not budget or len(budget) > 50:
        raise ConfigError(f"budget {budget!r} must be 'proxy', 'full' or e.g. 'epochs=10'")
    if epochs is not None and any(not 0 <= a <= 1 for a in epochs):
        raise ConfigError(f"epoch accuracies {list(epochs)!r} must be fractions in [0, 1]")
