"""The parameter-count objective is named ``param_count``, as its column and metric are.

Before, a search that minimised parameters listed the objective ``params``, a word that also
names a space's searched parameters. Each stored search's objective list is rewritten in place.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from octsearch.store.types import JSONField

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SEARCHES = sa.table("octsearch_searches", sa.column("id", sa.Integer), sa.column("objectives", JSONField()))


def _rename(old: str, new: str) -> None:
    bind = op.get_bind()
    for search_id, objectives in bind.execute(sa.select(_SEARCHES.c.id, _SEARCHES.c.objectives)).all():
        if isinstance(objectives, list) and old in objectives:
            renamed = [new if name == old else name for name in objectives]
            bind.execute(_SEARCHES.update().where(_SEARCHES.c.id == search_id).values(objectives=renamed))


def upgrade() -> None:
    _rename("params", "param_count")


def downgrade() -> None:
    _rename("param_count", "params")
