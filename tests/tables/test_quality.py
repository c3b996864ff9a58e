"""Scoring a search on a table: hand-computed hypervolume shares, trajectories and regrets, on a
table written through the store API."""

from __future__ import annotations

import pytest
from configs import configuration

from octsearch.store import SearchSpec, open_store
from octsearch.tables.lookup import Table
from octsearch.tables.quality import (
    TableScore,
    evaluated_in_order,
    evaluations_to_reach,
    share_trajectory,
)

# alpha -> (FLOPs, accuracies of two seeds); reference: chance 0.1, alpha-0 FLOPs 100
ROWS = {0.0: (100, (0.90, 0.90)), 0.25: (80, (0.86, 0.90)), 0.5: (50, (0.80, 0.80)), 0.75: (40, (0.50, 0.40))}


@pytest.fixture
def store(tmp_path):
    s = open_store(f"sqlite:///{tmp_path / 't.db'}")
    spec = dict(space_text="t", model_name="m", model_args={}, reference_accuracy=0.1, reference_flops=100)
    s.create_search(SearchSpec(name="t", kind="table", **spec))
    for alpha, (flops, accs) in ROWS.items():
        n = s.start_trial("t", configuration({"a": alpha}, flops_paper=flops, flops_all=flops, param_count=1))
        for seed, acc in enumerate(accs):
            s.record_evaluation("t", n, seed=seed, accuracy=acc, n_val=100, train_seconds=1.0)
    s.create_search(SearchSpec(name="s", **spec))
    yield s
    s.close()


def test_the_true_front_and_shares_use_the_mean_accuracy_over_seeds(store):
    score = TableScore(Table(store, "t"))
    # mean accuracies .90, .88, .80, .45 at FLOP shares 1, .8, .5, .4 of alpha 0 (ref (0.1, 1.0)):
    # alpha 0 adds nothing (saves no FLOPs); boxes: .88 x .2 + .80 x (.5 - .2) + .45 x (.6 - .5) -> minus chance
    expected = (0.88 - 0.1) * 0.2 + (0.80 - 0.1) * 0.3 + (0.45 - 0.1) * 0.1
    assert score.true_hypervolume == pytest.approx(expected)
    key = {alpha: configuration({"a": alpha}).key for alpha in ROWS}
    assert score.share([key[0.5]]) == pytest.approx((0.80 - 0.1) * 0.5 / expected)
    assert score.share(key.values()) == pytest.approx(1.0)
    # regret at a budget of 60 multiply-adds: the table's best there is .80 (alpha .5)
    assert score.regret([key[0.75]], 60) == pytest.approx(0.80 - 0.45)
    assert score.regret([key[0.0]], 60) == pytest.approx(0.80 - 0.1)  # nothing found within: chance


def test_a_trajectory_follows_the_order_evaluations_were_stored(store):
    for alpha in (0.75, 0.5, 0.75, 0.25):  # a repeat seed of .75 is an evaluation too
        n = store.start_trial("s", configuration({"a": alpha}, flops_paper=1, flops_all=1, param_count=1))
        store.record_evaluation("s", n, seed=len(store.evaluations("s", number=n)), accuracy=0.5, n_val=100)
    score = TableScore(Table(store, "t"))
    keys = evaluated_in_order(store, "s")
    assert keys == [configuration({"a": a}).key for a in (0.75, 0.5, 0.75, 0.25)]
    trajectory = share_trajectory(score, keys)
    assert trajectory[-1] == pytest.approx(1.0) and trajectory[0] < trajectory[1] == trajectory[2] < 1.0
    assert evaluations_to_reach(trajectory, 0.99) == 4 and evaluations_to_reach(trajectory[:3], 0.99) is None


def test_only_a_table_is_read_as_one(store):
    from octsearch.errors import ConfigError

    with pytest.raises(ConfigError, match="'s' is a search, not a table"):
        Table(store, "s")
