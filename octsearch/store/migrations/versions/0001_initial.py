"""Initial schema: searches, trials, evaluations.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from octsearch.store.types import JSONField

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "octsearch_searches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("space_text", sa.Text(), nullable=False),
        sa.Column("space_hash", sa.String(64), nullable=False),
        sa.Column("model_name", sa.String(100), nullable=False),
        sa.Column("model_args", JSONField(), nullable=False),
        sa.Column("objectives", JSONField(), nullable=False),
        sa.Column("sampler", sa.String(50), nullable=False),
        sa.Column("sampler_args", JSONField(), nullable=False),
        sa.Column("seed", sa.Integer(), nullable=True),
        sa.Column("octsearch_version", sa.String(40), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("reference_accuracy", sa.Float(), nullable=False),
        sa.Column("reference_flops", sa.BigInteger(), nullable=False),
        sa.Column("flops_budget", sa.BigInteger(), nullable=True),
        sa.CheckConstraint(
            "status IN ('running', 'finished', 'interrupted', 'failed')",
            name="ck_octsearch_searches_status",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_octsearch_searches"),
        sa.UniqueConstraint("name", name="uq_octsearch_searches_name"),
    )
    op.create_table(
        "octsearch_trials",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("search_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("config_key", sa.String(64), nullable=False),
        sa.Column("alphas", JSONField(), nullable=False),
        sa.Column("config", JSONField(), nullable=False),
        sa.Column("flops_paper", sa.BigInteger(), nullable=True),
        sa.Column("flops_all", sa.BigInteger(), nullable=True),
        sa.Column("params_count", sa.BigInteger(), nullable=True),
        sa.Column("latency_ms", sa.Float(), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("accuracy", sa.Float(), nullable=True),
        sa.Column("accuracy_stderr", sa.Float(), nullable=True),
        sa.Column("n_evals", sa.Integer(), nullable=False),
        sa.Column("is_uniform", sa.Boolean(), nullable=False),
        sa.Column("uniform_alpha", sa.Float(), nullable=True),
        sa.Column("node", sa.String(200), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("train_seconds", sa.Float(), nullable=True),
        sa.CheckConstraint(
            "accuracy IS NULL OR (accuracy >= 0 AND accuracy <= 1)",
            name="ck_octsearch_trials_accuracy",
        ),
        sa.CheckConstraint(
            "status IN ('complete', 'pruned', 'infeasible', 'failed', 'running')",
            name="ck_octsearch_trials_status",
        ),
        sa.ForeignKeyConstraint(
            ["search_id"],
            ["octsearch_searches.id"],
            name="fk_octsearch_trials_search_id_octsearch_searches",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_octsearch_trials"),
        sa.UniqueConstraint(
            "search_id", "config_key", name="uq_octsearch_trials_search_id_config_key"
        ),
        sa.UniqueConstraint("search_id", "number", name="uq_octsearch_trials_search_id_number"),
    )
    op.create_index(
        "ix_octsearch_trials_search_id_status", "octsearch_trials", ["search_id", "status"]
    )
    op.create_table(
        "octsearch_evaluations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("trial_id", sa.Integer(), nullable=False),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("budget", sa.String(50), nullable=False),
        sa.Column("accuracy", sa.Float(), nullable=False),
        sa.Column("n_val", sa.Integer(), nullable=False),
        sa.Column("stderr", sa.Float(), nullable=False),
        sa.Column("train_seconds", sa.Float(), nullable=True),
        sa.Column("node", sa.String(200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("epoch_accuracies", JSONField(), nullable=True),
        sa.CheckConstraint(
            "accuracy >= 0 AND accuracy <= 1", name="ck_octsearch_evaluations_accuracy"
        ),
        sa.ForeignKeyConstraint(
            ["trial_id"],
            ["octsearch_trials.id"],
            name="fk_octsearch_evaluations_trial_id_octsearch_trials",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_octsearch_evaluations"),
        sa.UniqueConstraint(
            "trial_id", "budget", "seed", name="uq_octsearch_evaluations_trial_id_budget_seed"
        ),
    )


def downgrade() -> None:
    op.drop_table("octsearch_evaluations")
    op.drop_index("ix_octsearch_trials_search_id_status", table_name="octsearch_trials")
    op.drop_table("octsearch_trials")
    op.drop_table("octsearch_searches")
