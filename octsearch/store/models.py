"""Table models of the store (SQLAlchemy 2 typed declarative), at the newest migration.

Three tables, readable with plain SQL:

- ``octsearch_searches``: one row per search (space file, model, sampler, reference point).
- ``octsearch_trials``: one row per distinct alpha configuration of a search, with the mean
  accuracy over its evaluations at the search's own ("proxy") budget and ``on_front``, kept up to
  date on every write so that reading the front is one indexed query.
- ``octsearch_evaluations``: every training run of a configuration (seed, budget, accuracy).

Units: FLOPs are multiply-adds (one fused multiply-add = one FLOP); ``flops_paper`` counts
convolutions and linear layers only (the paper's convention), ``flops_all`` every operator.
Accuracies are fractions in [0, 1] on the validation split. Tables carry an ``octsearch_``
prefix so they can share a database with Optuna's own ``trials`` and ``studies`` tables.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from octsearch.store.types import JSONField

SEARCH_STATUSES = ("running", "finished", "interrupted", "failed")
# a search; a table (every configuration of a space evaluated); a search replayed on a table
SEARCH_KINDS = ("search", "table", "replay")
# lost: its worker died under it (run again); interrupted: the search stopped before it finished;
# scored: evaluated only at budgets other than the proxy (a supernet score, a calibration rung):
# no proxy run is owed or running, and a proxy run starts it like a new configuration
TRIAL_STATUSES = ("complete", "pruned", "infeasible", "failed", "lost", "interrupted", "running", "scored")

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class SearchRow(Base):
    __tablename__ = "octsearch_searches"
    __table_args__ = (
        CheckConstraint(
            "status IN ('running', 'finished', 'interrupted', 'failed')", name="status"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    space_text: Mapped[str] = mapped_column(Text)
    space_hash: Mapped[str] = mapped_column(String(64))
    model_name: Mapped[str] = mapped_column(String(100))
    model_args: Mapped[Any] = mapped_column(JSONField, nullable=False)
    objectives: Mapped[Any] = mapped_column(JSONField, nullable=False)
    sampler: Mapped[str] = mapped_column(String(50))
    sampler_args: Mapped[Any] = mapped_column(JSONField, nullable=False)
    seed: Mapped[int | None] = mapped_column(Integer)
    octsearch_version: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(20))
    reference_accuracy: Mapped[float] = mapped_column(Float)
    reference_flops: Mapped[int] = mapped_column(BigInteger)
    flops_budget: Mapped[int | None] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(20), default="search", server_default="search")
    source: Mapped[str | None] = mapped_column(String(200))  # the table a replay is answered from

    trials: Mapped[list[TrialRow]] = relationship(back_populates="search", passive_deletes=True)


class TrialRow(Base):
    __tablename__ = "octsearch_trials"
    __table_args__ = (
        UniqueConstraint("search_id", "number"),
        UniqueConstraint("search_id", "config_key"),
        Index("ix_octsearch_trials_search_id_status", "search_id", "status"),
        Index("ix_octsearch_trials_search_id_on_front", "search_id", "on_front"),
        CheckConstraint(
            "status IN ('complete', 'pruned', 'infeasible', 'failed', 'lost', 'interrupted', 'running', 'scored')",
            name="status",
        ),
        CheckConstraint("accuracy IS NULL OR (accuracy >= 0 AND accuracy <= 1)", name="accuracy"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    search_id: Mapped[int] = mapped_column(ForeignKey(SearchRow.id, ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    # The trial's Configuration as its own JSON (Configuration.to_json: parameters, slot alphas,
    # cost); config_key, the FLOPs, param_count and the uniform flags are derived from it by the
    # store (writes.configuration_columns), for indexes and plain SQL.
    configuration: Mapped[Any] = mapped_column(JSONField, nullable=False)
    config_key: Mapped[str] = mapped_column(String(64))  # Configuration.key
    flops_paper: Mapped[int | None] = mapped_column(BigInteger)
    flops_all: Mapped[int | None] = mapped_column(BigInteger)
    param_count: Mapped[int | None] = mapped_column(BigInteger)
    latency_ms: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(20))
    error: Mapped[str | None] = mapped_column(Text)
    accuracy: Mapped[float | None] = mapped_column(Float)
    accuracy_stderr: Mapped[float | None] = mapped_column(Float)
    n_evals: Mapped[int] = mapped_column(Integer, default=0)
    is_uniform: Mapped[bool] = mapped_column(Boolean, default=False)
    uniform_alpha: Mapped[float | None] = mapped_column(Float)
    node: Mapped[str | None] = mapped_column(String(200))
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    train_seconds: Mapped[float | None] = mapped_column(Float)
    on_front: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    search: Mapped[SearchRow] = relationship(back_populates="trials")
    evaluations: Mapped[list[EvaluationRow]] = relationship(
        back_populates="trial", passive_deletes=True
    )


class EvaluationRow(Base):
    __tablename__ = "octsearch_evaluations"
    __table_args__ = (
        UniqueConstraint("trial_id", "budget", "seed"),
        CheckConstraint("accuracy >= 0 AND accuracy <= 1", name="accuracy"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trial_id: Mapped[int] = mapped_column(ForeignKey(TrialRow.id, ondelete="CASCADE"))
    seed: Mapped[int] = mapped_column(Integer)
    budget: Mapped[str] = mapped_column(String(50))  # "proxy", "full" or e.g. "epochs=10"
    accuracy: Mapped[float] = mapped_column(Float)
    n_val: Mapped[int] = mapped_column(Integer)  # validation images
    stderr: Mapped[float] = mapped_column(Float)  # binomial: sqrt(p (1 - p) / n_val)
    train_seconds: Mapped[float | None] = mapped_column(Float)
    node: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    epoch_accuracies: Mapped[Any] = mapped_column(JSONField, nullable=True)

    trial: Mapped[TrialRow] = relationship(back_populates="evaluations")
