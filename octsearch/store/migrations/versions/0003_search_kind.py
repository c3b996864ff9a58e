"""What a stored search is: a search, a table (every configuration tabulated), or a replay of one.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMNs: a CHECK constraint would make SQLite copy the table, and dropping the old
    # copy cascades to every trial. The store checks the kind on every write and read instead.
    op.add_column("octsearch_searches", sa.Column("kind", sa.String(20), nullable=False, server_default="search"))
    op.add_column("octsearch_searches", sa.Column("source", sa.String(200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("octsearch_searches") as batch:
        batch.drop_column("source")
        batch.drop_column("kind")
