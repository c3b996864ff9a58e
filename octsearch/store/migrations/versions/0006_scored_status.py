"""A trial evaluated only at budgets other than the proxy is ``scored``, not ``running``.

Before, a configuration scored by a supernet or a calibration rung kept the ``running`` status its
registration gave it (only a proxy evaluation completed a trial), so the next launch of the same
name took it for a run its driver had left behind and marked it ``interrupted``. Such rows (running,
with an evaluation, none of them at the proxy budget) are converted.

SQLite rebuilds the table to change its CHECK constraint (see 0004).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from octsearch.store.migrations.trial_status import set_status_check

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OLD_STATUSES = "status IN ('complete', 'pruned', 'infeasible', 'failed', 'lost', 'interrupted', 'running')"
_NEW_STATUSES = "status IN ('complete', 'pruned', 'infeasible', 'failed', 'lost', 'interrupted', 'running', 'scored')"
_PROXY = "proxy"  # the store's PROXY_BUDGET when this revision was written

_TRIALS = sa.table("octsearch_trials", sa.column("id", sa.Integer), sa.column("status", sa.String))
_EVALUATIONS = sa.table("octsearch_evaluations", sa.column("trial_id", sa.Integer), sa.column("budget", sa.String))


def upgrade() -> None:
    set_status_check(_NEW_STATUSES)
    evaluated = sa.exists().where(_EVALUATIONS.c.trial_id == _TRIALS.c.id)
    at_proxy = sa.exists().where(_EVALUATIONS.c.trial_id == _TRIALS.c.id, _EVALUATIONS.c.budget == _PROXY)
    op.get_bind().execute(_TRIALS.update().where(_TRIALS.c.status == "running", evaluated, ~at_proxy)
                          .values(status="scored"))


def downgrade() -> None:
    op.get_bind().execute(_TRIALS.update().where(_TRIALS.c.status == "scored").values(status="running"))
    set_status_check(_OLD_STATUSES)
