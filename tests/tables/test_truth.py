"""Scoring against a truth: the seed means and the pooled model's predictions of a planted table
(81 configurations x 3 seeds, known additive effects, seed noise SD 1.3 points) written to SQLite
through the store's API, and a table's front and shares under a truth given by hand."""

from __future__ import annotations

import numpy as np
import pytest
from planted_tables import planted_table, write_planted

from octsearch.errors import ConfigError
from octsearch.store import open_store
from octsearch.tables.lookup import Table
from octsearch.tables.quality import TableScore
from octsearch.tables.resolution import resolution
from octsearch.tables.truth import Truth, mean_truth, model_truth, truth_of


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    """The store's URL, the planted frame, and each configuration's noiseless accuracy (points, at
    the seeds' mean offset: what both truths estimate)."""
    frame = planted_table(np.random.default_rng(5), seeds=3)
    noiseless = planted_table(np.random.default_rng(5), seeds=3, noise=0.0).groupby("trial")["accuracy"].mean()
    url = write_planted(f"sqlite:///{tmp_path_factory.mktemp('truth') / 't.db'}", frame)
    return url, frame, noiseless


def by_trial(store, truth: Truth) -> dict[int, float]:
    """The truth's accuracy (points) by the planted frame's trial (stored in the frame's order)."""
    number = {t.configuration.key: t.number for t in store.trials("planted")}
    return {number[k]: 100 * a for k, a in truth.accuracy.items()}


def test_the_means_are_each_configurations_seed_mean(planted):
    url, frame, _ = planted
    with open_store(url) as store:
        truth = mean_truth(Table(store, "planted"))
        got = by_trial(store, truth)
        one_seed = by_trial(store, mean_truth(Table(store, "planted"), seeds=[1]))
    grouped = frame.groupby("trial")["accuracy"]
    assert got == pytest.approx(grouped.mean().to_dict())
    assert truth.seeds == (0, 1, 2) and len(truth.se) == 81
    assert one_seed == pytest.approx(frame[frame["seed"] == 1].set_index("trial")["accuracy"].to_dict())


def test_the_model_truth_is_nearer_the_planted_accuracies_than_the_means_and_its_se_covers_it(planted):
    url, _, noiseless = planted
    with open_store(url) as store:
        model, means = model_truth(store, "planted"), truth_of("means", store, "planted")
        errors = {kind: np.array([v - noiseless[t] for t, v in by_trial(store, truth).items()])
                  for kind, truth in (("model", model), ("means", means))}
        se = np.array([100 * model.se[k] for k in model.accuracy])
    rmse = {kind: float(np.sqrt(np.mean(e**2))) for kind, e in errors.items()}
    assert len(errors["model"]) == 81 and model.seeds == (0, 1, 2)
    assert rmse["model"] < 0.6 * rmse["means"]  # pooling 243 evaluations beats 3 per configuration
    assert np.mean(np.abs(errors["model"]) <= 2 * se) >= 0.85


def test_the_model_truth_from_one_seed_agrees_with_another_better_than_their_runs(planted):
    url, _, _ = planted
    with open_store(url) as store:
        raw, smoothed = resolution(store, "planted", "means"), resolution(store, "planted", "model")
    assert [p.seeds for p in raw.pairs] == [(0, 1), (0, 2), (1, 2)] == [p.seeds for p in smoothed.pairs]
    assert min(smoothed.taus) > max(raw.taus)
    assert 0 < raw.uniform_share < 1 and raw.detectable[0] < raw.detectable[1]


def test_a_truth_decides_the_front_and_the_shares(tmp_path):
    url = f"sqlite:///{tmp_path / 't.db'}"
    write_planted(url, planted_table(np.random.default_rng(0), seeds=1))
    with open_store(url) as store:
        table = Table(store, "planted")
        # the uniform configurations, true accuracies by hand: alpha .25 costs more FLOPs than .5, for less
        uniform = {t.configuration.uniform_alpha: key for key, t in table.trials.items() if t.is_uniform}
        keys = [uniform[a] for a in (0.0, 0.25, 0.5)]
        flops = [table.trials[k].flops_paper / table.record.reference_flops for k in keys]
        truth = Truth("hand", dict(zip(keys, (0.90, 0.70, 0.80), strict=True)), {}, (0,))
        score = TableScore(table, truth)
    assert sorted(score.front()) == sorted([keys[0], keys[2]])
    assert flops[0] == 1.0 and flops[1] > flops[2]  # alpha 0 saves no FLOPs: it adds no hypervolume
    expected = (0.80 - 0.1) * (1 - flops[2])
    assert score.true_hypervolume == pytest.approx(expected)
    assert score.share([keys[1]]) == pytest.approx((0.70 - 0.1) * (1 - flops[1]) / expected)


def test_bad_truths_are_one_line_errors(planted):
    url, _, _ = planted
    with open_store(url) as store:
        with pytest.raises(ConfigError, match=r"unknown truth 'median'; accepted: means, model"):
            truth_of("median", store, "planted")
        with pytest.raises(ConfigError, match=r"no evaluations of seeds \[7\]; its seeds: \[0, 1, 2\]"):
            model_truth(store, "planted", seeds=[7])
