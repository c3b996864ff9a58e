"""Every read of the store: searches, trials, evaluations, the front and its hypervolume.

The proxy-budget front reads the maintained ``on_front`` flags (one indexed query); a front at
another budget (e.g. "full" from re-validation) is computed on read: those sets are small.
"""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import func, select

from octsearch import pareto
from octsearch.errors import unknown_name
from octsearch.pareto import Direction
from octsearch.store.checks import check_choice, check_limit
from octsearch.store.models import TRIAL_STATUSES, EvaluationRow, SearchRow, TrialRow
from octsearch.store.records import (
    OBJECTIVES,
    PROXY_BUDGET,
    EvaluationRecord,
    SearchRecord,
    TrialRecord,
    aggregate,
    evaluation_record,
    flops_objective,
    search_record,
    trial_record,
)
from octsearch.store.session import Sessions, search_row, status_counts, trial_row


def get_search(db: Sessions, name: str) -> SearchRecord:
    with db.read() as session:
        row = search_row(session, name)
        return search_record(row, status_counts(session, [row.id])[row.id])


def list_searches(db: Sessions) -> list[SearchRecord]:
    with db.read() as session:
        rows = session.scalars(select(SearchRow).order_by(SearchRow.created_at, SearchRow.id)).all()
        counts = status_counts(session, [r.id for r in rows])
        return [search_record(r, counts[r.id]) for r in rows]


def trials(
    db: Sessions, search: str, status: str | None, limit: int | None, newest: bool
) -> list[TrialRecord]:
    check_choice("trial status", status, TRIAL_STATUSES)
    check_limit(limit)
    with db.read() as session:
        srow = search_row(session, search)
        query = select(TrialRow).where(TrialRow.search_id == srow.id)
        if status is not None:
            query = query.where(TrialRow.status == status)
        query = query.order_by(TrialRow.number.desc() if newest else TrialRow.number).limit(limit)
        return [trial_record(r, srow.name) for r in session.scalars(query).all()]


def trial(db: Sessions, search: str, number: int) -> TrialRecord:
    with db.read() as session:
        srow = search_row(session, search)
        return trial_record(trial_row(session, srow, number), srow.name)


def evaluations(
    db: Sessions, search: str, number: int | None, budget: str | None
) -> list[EvaluationRecord]:
    with db.read() as session:
        srow = search_row(session, search)
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


def budgets(db: Sessions, search: str) -> dict[str, int]:
    with db.read() as session:
        srow = search_row(session, search)
        rows = session.execute(
            select(EvaluationRow.budget, func.count())
            .join(TrialRow, EvaluationRow.trial_id == TrialRow.id)
            .where(TrialRow.search_id == srow.id)
            .group_by(EvaluationRow.budget)
        ).all()
        return {budget: n for budget, n in rows}


def front(db: Sessions, search: str, budget: str) -> list[TrialRecord]:
    """The front at ``budget``, cheapest first (in the search's FLOPs convention)."""
    if budget == PROXY_BUDGET:
        records, objectives = _flagged_front(db, search)
    else:
        objectives = get_search(db, search).objectives
        records = _front_on_read(scored_trials(db, search, budget), objectives)
    fkey = flops_objective(list(objectives))
    return sorted(records, key=lambda t: (getattr(t, fkey) or 0, -(t.accuracy or 0), t.number))


def _flagged_front(db: Sessions, search: str) -> tuple[list[TrialRecord], tuple[str, ...]]:
    with db.read() as session:
        srow = search_row(session, search)
        rows = session.scalars(
            select(TrialRow).where(TrialRow.search_id == srow.id, TrialRow.on_front.is_(True))
        ).all()
        return [trial_record(r, srow.name) for r in rows], tuple(srow.objectives)


def _front_on_read(scored: list[TrialRecord], objectives: tuple[str, ...]) -> list[TrialRecord]:
    """The non-dominated trials; one missing an objective's value is never on the front."""
    dirs: list[Direction] = [OBJECTIVES[o][1] for o in objectives]  # type: ignore[misc]
    usable = [t for t in scored if all(t.objective(o) is not None for o in objectives)]
    points = [[t.objective(o) for o in objectives] for t in usable]
    keep = pareto.non_dominated(points, dirs)  # type: ignore[arg-type]
    return [replace(usable[i], on_front=True) for i in keep]


def scored_trials(db: Sessions, search: str, budget: str) -> list[TrialRecord]:
    if budget == PROXY_BUDGET:
        return trials(db, search, "complete", None, False)
    evals = evaluations(db, search, None, budget)
    if not evals:
        present = sorted({PROXY_BUDGET, *budgets(db, search)})
        raise unknown_name(f"budget of search {search!r}", budget, present)
    by_trial: dict[int, list[EvaluationRecord]] = {}
    for e in evals:
        by_trial.setdefault(e.trial, []).append(e)
    return [_rescored(t, by_trial[t.number], budget) for t in trials(db, search, None, None, False)
            if t.number in by_trial]


def _rescored(t: TrialRecord, evals: list[EvaluationRecord], budget: str) -> TrialRecord:
    mean, se = aggregate([e.accuracy for e in evals], [e.n_val for e in evals])
    return replace(t, accuracy=mean, accuracy_stderr=se, n_evals=len(evals), budget=budget, on_front=False)


def hypervolume(db: Sessions, search: str, budget: str) -> float:
    record = get_search(db, search)
    fkey = record.flops_key
    points = [
        (t.accuracy, getattr(t, fkey) / float(record.reference_flops))
        for t in front(db, search, budget)
        if t.accuracy is not None and getattr(t, fkey) is not None
    ]
    return pareto.hypervolume(points, (record.reference_accuracy, 1.0), ["max", "min"])
