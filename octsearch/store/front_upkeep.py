"""The trials' ``on_front`` flags, kept exact in the transaction of every proxy-budget write.

The maths is in :mod:`octsearch.pareto`; this module only decides which rows to read back
and which flags to flip, so that reading the front stays one indexed query.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import InstrumentedAttribute, Session

from octsearch import pareto
from octsearch.errors import StoreError
from octsearch.pareto import Direction
from octsearch.store.models import SearchRow, TrialRow
from octsearch.store.records import OBJECTIVES

Point = list[Any]  # one value per objective column; None where a value is missing
_CHUNK = 500  # ids per UPDATE: stays under every backend's bound-parameter limit


def objective_columns(srow: SearchRow) -> tuple[list[InstrumentedAttribute[Any]], list[Direction]]:
    """The trial columns of the search's objectives and their directions."""
    names = list(srow.objectives) if isinstance(srow.objectives, list) else list(OBJECTIVES)
    cols, dirs = [], []
    for name in names:
        attr, direction = OBJECTIVES.get(name, (None, None))
        if attr is None:
            raise StoreError(f"corrupted row in search {srow.name!r}: unknown objective {name!r}")
        cols.append(getattr(TrialRow, attr))
        dirs.append(direction)
    return cols, dirs  # type: ignore[return-value]


def point(srow: SearchRow, row: TrialRow) -> Point:
    return [getattr(row, c.key) for c in objective_columns(srow)[0]]


def update_front(session: Session, srow: SearchRow, row: TrialRow, old_point: Point | None) -> None:
    """Keep ``on_front`` exact after ``row``'s point changed (``old_point``: its point
    before, if it was a member).

    A trial that was not on the front was dominated by a member, which dominates whatever
    the trial dominated: only members can leave, and only the trial can join. A member that
    moves can also free the points that it alone dominated; those lie in the box its old
    point dominated, so only that box is read back, not the whole search.
    """
    cols, dirs = objective_columns(srow)
    new = [getattr(row, c.key) for c in cols]
    if any(v is None for v in new):
        return
    members = session.execute(
        select(TrialRow.id, *cols).where(
            TrialRow.search_id == srow.id, TrialRow.on_front.is_(True), TrialRow.id != row.id
        )
    ).all()
    if old_point is None:
        _join(session, row, new, members, dirs)
    else:
        _move(session, srow, row, new, old_point, members)


def _join(session: Session, row: TrialRow, new: Point, members: list[Any], dirs: list[Direction]) -> None:
    """A non-member joins unless a member dominates it, and evicts the members it dominates."""
    if any(pareto.dominates(m[1:], new, dirs) for m in members):
        return
    row.on_front = True
    set_front(session, [m[0] for m in members if pareto.dominates(new, m[1:], dirs)], False)


def _move(session: Session, srow: SearchRow, row: TrialRow, new: Point, old: Point, members: list[Any]) -> None:
    """A member moved: recompute over the members and what its old point alone dominated."""
    cols, dirs = objective_columns(srow)
    in_box = [c <= v if d == "max" else c >= v for c, v, d in zip(cols, old, dirs, strict=True)]
    candidates = session.execute(
        select(TrialRow.id, *cols).where(
            TrialRow.search_id == srow.id,
            TrialRow.status == "complete",
            TrialRow.on_front.is_(False),
            TrialRow.id != row.id,
            *in_box,
        )
    ).all()
    pool = [*members, *candidates, (row.id, *new)]
    keep = {pool[i][0] for i in pareto.non_dominated([p[1:] for p in pool], dirs)}
    row.on_front = row.id in keep
    set_front(session, [m[0] for m in members if m[0] not in keep], False)
    set_front(session, [c[0] for c in candidates if c[0] in keep], True)


def set_front(session: Session, ids: list[int], flag: bool) -> None:
    for chunk in range(0, len(ids), _CHUNK):
        session.execute(
            update(TrialRow)
            .where(TrialRow.id.in_(ids[chunk : chunk + _CHUNK]))
            .values(on_front=flag)
            .execution_options(synchronize_session="fetch")
        )


def recompute_front(session: Session, srow: SearchRow) -> int:
    """Every flag of a search from its complete trials (a repair tool); the front's size."""
    session.flush()
    cols, dirs = objective_columns(srow)
    rows = session.execute(
        select(TrialRow.id, TrialRow.on_front, *cols).where(
            TrialRow.search_id == srow.id,
            TrialRow.status == "complete",
            *(c.is_not(None) for c in cols),
        )
    ).all()
    keep = set(pareto.non_dominated([r[2:] for r in rows], dirs))
    set_front(session, [r[0] for i, r in enumerate(rows) if i in keep and not r[1]], True)
    set_front(session, [r[0] for i, r in enumerate(rows) if i not in keep and r[1]], False)
    # members that left the complete state (none today) or lost an objective value
    session.execute(
        update(TrialRow)
        .where(TrialRow.search_id == srow.id, TrialRow.on_front.is_(True), TrialRow.status != "complete")
        .values(on_front=False)
        .execution_options(synchronize_session="fetch")
    )
    return len(keep)
