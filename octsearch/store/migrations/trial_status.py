"""The trial status CHECK constraint, as the revisions that widen it (0004, 0006) change it."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from octsearch.store.models import NAMING


def status_check_name() -> str:
    """The status CHECK's name as stored: SQLite stores that 0002's table copy renamed it
    (``ck_octsearch_trials_ck_octsearch_trials_status``), PostgreSQL the name 0001 gave."""
    checks = sa.inspect(op.get_bind()).get_check_constraints("octsearch_trials")
    return next(c["name"] for c in checks if c["name"].endswith("_status"))


def set_status_check(statuses: str) -> None:
    """Replace the CHECK with ``statuses`` (SQLite rebuilds the table for it; see 0004)."""
    with op.batch_alter_table("octsearch_trials", naming_convention=NAMING, recreate="auto") as batch:
        batch.drop_constraint(op.f(status_check_name()), type_="check")
        batch.create_check_constraint("status", statuses)
