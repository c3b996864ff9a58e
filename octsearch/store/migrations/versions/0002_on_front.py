"""Keep the front on the trials: ``on_front`` with an index, backfilled from the accuracies.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from octsearch.pareto import non_dominated

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("octsearch_trials") as batch:
        batch.add_column(
            sa.Column("on_front", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.create_index("ix_octsearch_trials_search_id_on_front", ["search_id", "on_front"])
    _backfill()


def _backfill() -> None:
    """Mark the (accuracy max, paper FLOPs min) front of every search's complete trials."""
    bind = op.get_bind()
    trials = sa.table(
        "octsearch_trials",
        sa.column("id", sa.Integer),
        sa.column("search_id", sa.Integer),
        sa.column("status", sa.String),
        sa.column("accuracy", sa.Float),
        sa.column("flops_paper", sa.BigInteger),
        sa.column("on_front", sa.Boolean),
    )
    rows = bind.execute(
        sa.select(trials.c.id, trials.c.search_id, trials.c.accuracy, trials.c.flops_paper).where(
            trials.c.status == "complete",
            trials.c.accuracy.is_not(None),
            trials.c.flops_paper.is_not(None),
        )
    ).all()
    by_search: dict[int, list[tuple[int, float, int]]] = {}
    for trial_id, search_id, accuracy, flops in rows:
        by_search.setdefault(search_id, []).append((trial_id, accuracy, flops))
    front_ids = []
    for members in by_search.values():
        keep = non_dominated([(a, f) for _, a, f in members], ["max", "min"])
        front_ids += [members[i][0] for i in keep]
    if front_ids:
        bind.execute(
            trials.update().where(trials.c.id == sa.bindparam("tid")).values(on_front=True),
            [{"tid": i} for i in front_ids],
        )


def downgrade() -> None:
    with op.batch_alter_table("octsearch_trials") as batch:
        batch.drop_index("ix_octsearch_trials_search_id_on_front")
        batch.drop_column("on_front")
