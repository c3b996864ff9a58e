"""The Pareto store: searches, trials and evaluations in SQLite or PostgreSQL.

Imports neither torch nor ray (``octsearch pareto`` must stay light). Entry point::

    store = open_store("sqlite:///results.db")   # or None: $OCTSEARCH_DB, then the default
    store.front("my-search")                     # -> list[TrialRecord]
"""

from __future__ import annotations

from octsearch.store.connect import open_store
from octsearch.store.records import (
    DEFAULT_OBJECTIVES,
    OBJECTIVES,
    PROXY_BUDGET,
    EvaluationRecord,
    SearchRecord,
    SearchSpec,
    TrialRecord,
)
from octsearch.store.store import Store
from octsearch.store.urls import default_url, mask_url, resolve_url

__all__ = [
    "DEFAULT_OBJECTIVES",
    "OBJECTIVES",
    "PROXY_BUDGET",
    "EvaluationRecord",
    "SearchRecord",
    "SearchSpec",
    "Store",
    "TrialRecord",
    "default_url",
    "mask_url",
    "open_store",
    "resolve_url",
]
