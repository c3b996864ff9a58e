"""Supernet scores are stored at budget 'supernet' and never move a proxy-budget figure."""

from __future__ import annotations

from pathlib import Path

import pytest
from supernet_spaces import two_alpha_space

from octsearch.analysis import read_evaluations
from octsearch.spaces import space_from_text
from octsearch.store import open_store
from octsearch.supernet.evaluate import SupernetScore
from octsearch.supernet.record import record_scores, register_supernet_search
from octsearch.supernet.settings import SUPERNET_BUDGET

SPACE = two_alpha_space("supernet record test space", limit=400, batch=50)


@pytest.fixture
def store(tmp_path: Path):  # noqa: ANN201
    with open_store(f"sqlite:///{tmp_path / 'sn.db'}") as s:
        yield s


def test_supernet_scores_never_mix_into_proxy_figures(store):
    space = space_from_text(SPACE, "record_test")
    register_supernet_search(store, space, "s", 0)
    proxy_cfg, other_cfg = space.with_cost(space.configuration(0.0)), space.with_cost(space.configuration(0.5))
    number = store.start_trial("s", proxy_cfg)
    store.record_evaluation("s", number, seed=0, accuracy=0.9, n_val=100)
    before = (store.trial("s", number), [t.number for t in store.front("s")], store.hypervolume("s"))

    numbers = record_scores(store, space, "s", [SupernetScore(proxy_cfg, 30, 100, 0.1),
                                                 SupernetScore(other_cfg, 99, 100, 0.1)], seed=0)

    assert numbers[0] == number
    trial = store.trial("s", number)
    assert (trial.accuracy, trial.n_evals, trial.status) == (0.9, 1, "complete")
    assert store.trial("s", numbers[1]).status == "scored"  # no proxy run owed: a launch leaves it alone
    assert store.reconcile_running("s") == []
    assert [t.number for t in store.front("s")] == before[1]
    assert store.hypervolume("s") == before[2]
    assert [e.accuracy for e in store.evaluations("s", budget="proxy")] == [0.9]
    assert store.budgets("s") == {"proxy": 1, SUPERNET_BUDGET: 2}
    scored = {t.number: t.accuracy for t in store.scored_trials("s", SUPERNET_BUDGET)}
    assert scored == {number: 0.3, numbers[1]: 0.99}
    proxy_frame = read_evaluations(store, "s", "proxy").frame
    assert proxy_frame["accuracy"].tolist() == [90.0]
    assert sorted(read_evaluations(store, "s", SUPERNET_BUDGET).frame["accuracy"]) == [30.0, 99.0]
