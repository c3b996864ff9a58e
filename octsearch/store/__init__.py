"""The Pareto store: searches, trials and evaluations in SQLite or PostgreSQL.

Imports neither torch nor ray (``octsearch pareto`` must stay light). This package's namespace is
its facade: code outside ``octsearch/store`` imports only the names below (the architecture test
checks it), and reaches the database only through :class:`Store`'s methods. Entry point::

    store = open_store("sqlite:///results.db")   # or None: $OCTSEARCH_DB, then the default
    store.front("my-search")                     # -> list[TrialRecord]
"""

from __future__ import annotations

from octsearch.store.connect import database_revision, open_database, open_store, upgrade_database
from octsearch.store.export import NothingFits, Selection, export_config, select_trial
from octsearch.store.locks import LockTaken
from octsearch.store.migrate import HEAD as SCHEMA_HEAD
from octsearch.store.models import TRIAL_STATUSES
from octsearch.store.records import (
    DEFAULT_OBJECTIVES,
    FLOPS_LABELS,
    OBJECTIVES,
    PROXY_BUDGET,
    EvaluationRecord,
    SearchRecord,
    SearchSpec,
    TrialRecord,
)
from octsearch.store.store import Store
from octsearch.store.urls import (
    SQLITE_BUSY_TIMEOUT_MS,
    default_url,
    mask_url,
    resolve_url,
    sqlite_path,
)
from octsearch.store.versus_uniform import Comparison, Measured, Verdict, compare, versus_uniform

__all__ = [
    "DEFAULT_OBJECTIVES",
    "FLOPS_LABELS",
    "OBJECTIVES",
    "PROXY_BUDGET",
    "SCHEMA_HEAD",
    "SQLITE_BUSY_TIMEOUT_MS",
    "TRIAL_STATUSES",
    "Comparison",
    "EvaluationRecord",
    "LockTaken",
    "NothingFits",
    "Measured",
    "SearchRecord",
    "SearchSpec",
    "Selection",
    "Store",
    "TrialRecord",
    "Verdict",
    "compare",
    "database_revision",
    "default_url",
    "export_config",
    "mask_url",
    "open_database",
    "open_store",
    "resolve_url",
    "select_trial",
    "sqlite_path",
    "upgrade_database",
    "versus_uniform",
]
