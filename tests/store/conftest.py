"""Fixtures of the store tests: one contract suite over SQLite and PostgreSQL.

PostgreSQL is the server on 127.0.0.1:5432 (database ``test``; override with
``OCTSEARCH_TEST_PG``). Each test gets a fresh, uniquely named schema, dropped afterwards; no
other table of that database is touched. With ``CI`` set, a server that cannot be reached fails
the tests instead of skipping them.
"""

from __future__ import annotations

import pytest
from configs import configuration


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path) -> str:
    """A URL of an empty database on each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    return request.getfixturevalue("pg_url")


@pytest.fixture
def spec_factory():
    """``spec_factory(name, **overrides)`` -> a SearchSpec of a small two-slot search."""
    from octsearch.store import SearchSpec

    def make(name: str = "s", **overrides):
        fields = dict(
            name=name,
            space_text="model: oct_resnet20\nslots: [a, b]\n",
            model_name="oct_resnet20",
            model_args={"num_classes": 10, "in_chans": 1, "input_size": 32},
            reference_accuracy=0.1,
            reference_flops=40_000_000,
        )
        fields.update(overrides)
        return SearchSpec(**fields)

    return make


@pytest.fixture
def add_trial():
    """``add_trial(store, search, alphas, accuracy=None, seed=0, flops=None)`` -> number.

    FLOPs default to a function of the alphas (multiply-adds); with an accuracy the trial is
    evaluated once at the proxy budget."""

    def add(store, search, alphas, accuracy=None, seed=0, flops=None, **kw):
        if flops is None:
            flops = int(40_000_000 * (1 - 0.5 * sum(alphas.values()) / len(alphas)))
        number = store.start_trial(search, configuration(
            alphas, flops_paper=flops, flops_all=flops + 1000, param_count=kw.pop("params", 270_000)), **kw)
        if accuracy is not None:
            store.record_evaluation(search, number, seed=seed, accuracy=accuracy, n_val=1000)
        return number

    return add
