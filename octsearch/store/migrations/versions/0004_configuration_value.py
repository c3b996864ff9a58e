"""A trial keeps its configuration as one value, and lost and interrupted are statuses.

- ``configuration``: the :class:`~octsearch.configuration.Configuration`'s own JSON (parameters,
  slot alphas, cost). It replaces ``config`` and ``alphas``; ``config_key``, the FLOPs and
  ``param_count`` (was ``params_count``) and the uniform flags stay as columns the store derives
  from it, for indexes and plain SQL.
- ``status`` also takes ``lost`` (the worker died under the trial: run again) and ``interrupted``
  (the search stopped first). Before, both were ``failed`` with an error that started with
  "lost with its worker" or "interrupted"; such rows are converted.

SQLite rebuilds the table to change its CHECK constraint; :func:`octsearch.store.migrate.upgrade`
turns foreign keys off around it, or dropping the old copy would cascade to every evaluation.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from octsearch.store.migrations.trial_status import status_check_name
from octsearch.store.models import NAMING
from octsearch.store.types import JSONField

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OLD_STATUSES = "status IN ('complete', 'pruned', 'infeasible', 'failed', 'running')"
_NEW_STATUSES = "status IN ('complete', 'pruned', 'infeasible', 'failed', 'lost', 'interrupted', 'running')"
_LOST, _INTERRUPTED = "lost with its worker", "interrupted"  # the error prefixes of before


def _trials(*extra: sa.Column) -> sa.Table:
    return sa.table("octsearch_trials", sa.column("id", sa.Integer), sa.column("status", sa.String),
                    sa.column("error", sa.Text), *extra)


def upgrade() -> None:
    op.add_column("octsearch_trials", sa.Column("configuration", JSONField(), nullable=True))
    _fill_configurations()
    with op.batch_alter_table("octsearch_trials", naming_convention=NAMING, recreate="auto") as batch:
        batch.drop_constraint(op.f(status_check_name()), type_="check")
        batch.create_check_constraint("status", _NEW_STATUSES)
        batch.alter_column("configuration", existing_type=JSONField(), nullable=False)
        batch.alter_column("params_count", new_column_name="param_count", existing_type=sa.BigInteger())
        batch.drop_column("alphas")
        batch.drop_column("config")
    trials = _trials()
    for status, prefix in (("lost", _LOST), ("interrupted", _INTERRUPTED)):
        op.get_bind().execute(trials.update().where(trials.c.status == "failed", trials.c.error.startswith(prefix))
                              .values(status=status))


def _fill_configurations() -> None:
    """``configuration`` from the columns it replaces: the same JSON ``Configuration.to_json`` writes."""
    trials = _trials(sa.column("alphas", JSONField()), sa.column("config", JSONField()),
                     sa.column("flops_paper", sa.BigInteger), sa.column("flops_all", sa.BigInteger),
                     sa.column("params_count", sa.BigInteger), sa.column("configuration", JSONField()))
    bind = op.get_bind()
    rows = bind.execute(sa.select(trials.c.id, trials.c.config, trials.c.alphas, trials.c.flops_paper,
                                  trials.c.flops_all, trials.c.params_count)).all()
    values = []
    for trial_id, params, alphas, flops_paper, flops_all, param_count in rows:
        value = {"params": params, "alphas": alphas}
        if None not in (flops_paper, flops_all, param_count):
            value["cost"] = {"flops_paper": flops_paper, "flops_all": flops_all, "param_count": param_count}
        values.append({"tid": trial_id, "value": value})
    if values:
        bind.execute(trials.update().where(trials.c.id == sa.bindparam("tid"))
                     .values(configuration=sa.bindparam("value", type_=JSONField())), values)


def downgrade() -> None:
    trials = _trials()
    op.get_bind().execute(trials.update().where(trials.c.status.in_(("lost", "interrupted"))).values(status="failed"))
    with op.batch_alter_table("octsearch_trials", naming_convention=NAMING) as batch:
        batch.add_column(sa.Column("alphas", JSONField(), nullable=True))
        batch.add_column(sa.Column("config", JSONField(), nullable=True))
        batch.alter_column("param_count", new_column_name="params_count", existing_type=sa.BigInteger())
    full = _trials(sa.column("alphas", JSONField()), sa.column("config", JSONField()),
                   sa.column("configuration", JSONField()))
    bind = op.get_bind()
    rows = bind.execute(sa.select(full.c.id, full.c.configuration)).all()
    if rows:
        bind.execute(full.update().where(full.c.id == sa.bindparam("tid"))
                     .values(alphas=sa.bindparam("a", type_=JSONField()), config=sa.bindparam("p", type_=JSONField())),
                     [{"tid": i, "a": c["alphas"], "p": c["params"]} for i, c in rows])
    with op.batch_alter_table("octsearch_trials", naming_convention=NAMING) as batch:
        batch.drop_constraint(op.f(status_check_name()), type_="check")
        batch.create_check_constraint("status", _OLD_STATUSES)
        batch.alter_column("alphas", existing_type=JSONField(), nullable=False)
        batch.alter_column("config", existing_type=JSONField(), nullable=False)
        batch.drop_column("configuration")
