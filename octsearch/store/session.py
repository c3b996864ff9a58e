"""Transactions, and the row lookups every read and write starts from.

Every write is one transaction; a database error becomes a one-line StoreError naming the URL
(without its password). Names and values reach SQL only as bound parameters.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from sqlalchemy import Engine, func, select
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from octsearch.errors import ConfigError, StoreError, unknown_name
from octsearch.store.models import SearchRow, TrialRow
from octsearch.store.urls import WRITE_OPTION


def first_line(error: BaseException) -> str:
    """The driver's message without its SQL and parameters (they can be long or private)."""
    text = str(getattr(error, "orig", None) or error).strip()
    return text.splitlines()[0] if text else type(error).__name__


class Sessions:
    """Opens read and write sessions on one engine; ``url`` is the masked URL for messages."""

    def __init__(self, engine: Engine, url: str) -> None:
        self.engine = engine
        self.url = url

    @contextmanager
    def write(self) -> Iterator[Session]:
        """One transaction; an IntegrityError passes through (callers turn it into a rule)."""
        try:
            with self.engine.connect() as conn:
                conn.execution_options(**{WRITE_OPTION: True})
                with conn.begin(), Session(bind=conn, expire_on_commit=False) as session:
                    yield session
                    session.flush()
        except IntegrityError:
            raise
        except DBAPIError as e:
            raise StoreError(f"cannot write to {self.url}: {first_line(e)}") from e

    @contextmanager
    def read(self) -> Iterator[Session]:
        try:
            with Session(self.engine) as session:
                yield session
        except DBAPIError as e:
            raise StoreError(f"cannot read from {self.url}: {first_line(e)}") from e


def search_row(session: Session, name: str, lock: bool = False) -> SearchRow:
    """The search called ``name``; ``lock`` serialises writers of one search (PostgreSQL)."""
    query = select(SearchRow).where(SearchRow.name == name)
    if lock:
        query = query.with_for_update()
    row = session.scalars(query).one_or_none()
    if row is None:
        names = session.scalars(select(SearchRow.name)).all()
        raise unknown_name("search", name, list(names))
    return row


def trial_row(session: Session, search: SearchRow, number: int) -> TrialRow:
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


def status_counts(session: Session, search_ids: Sequence[int]) -> dict[int, dict[str, int]]:
    """Search id -> trial status -> number of trials (statuses without trials are absent)."""
    counts: dict[int, dict[str, int]] = {i: {} for i in search_ids}
    rows = session.execute(
        select(TrialRow.search_id, TrialRow.status, func.count())
        .where(TrialRow.search_id.in_(search_ids))
        .group_by(TrialRow.search_id, TrialRow.status)
    )
    for search_id, status, n in rows:
        counts[search_id][status] = n
    return counts
