"""The model on the benchmark table bench/tables/mnist81.db (81 configurations x 3 seeds), read
from a copy: it predicts a held-out seed better than the per-configuration means, and gives the
figures bench/results/effects_mnist81.md records."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from octsearch.analysis import search_effects
from octsearch.store import open_store

TABLE = Path(__file__).resolve().parents[2] / "bench" / "tables" / "mnist81.db"


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    copy = tmp_path_factory.mktemp("mnist81") / "mnist81.db"
    shutil.copyfile(TABLE, copy)
    with open_store(f"sqlite:///{copy}", create=False, upgrade=False) as store:
        return search_effects(store, "mnist81")


def test_the_model_predicts_a_held_out_seed_better_than_the_means(result):
    cv = result.diagnostics.cv
    assert cv.folds == (0, 1, 2) and cv.n_predicted == 243
    assert cv.rmse_model == pytest.approx(1.48, abs=0.005) and cv.rmse_means == pytest.approx(1.68, abs=0.005)
    assert cv.model_wins


def test_the_mnist81_figures(result):
    assert (result.kind, result.budget, result.n_evaluations, result.n_configurations) == ("table", "proxy", 243, 81)
    assert result.flops_key == "flops_paper" and result.failures.failed == 0
    effects = {(e.parameter, e.alpha): e for e in result.effects}
    stage2_out = effects[("stage2.out", 0.25)]
    assert stage2_out.estimate == pytest.approx(0.96, abs=0.005) and stage2_out.se == pytest.approx(0.39, abs=0.005)
    assert not any(e.significant for e in result.effects)  # no single effect survives Holm
    tests = {t.parameter: t for t in result.parameters}
    assert tests["stage2.out"].p_holm == pytest.approx(0.048, abs=0.001)
    assert result.diagnostics.residual_sd == pytest.approx(1.40, abs=0.005)
    assert result.diagnostics.seed_sd == pytest.approx(1.37, abs=0.005)
    assert result.additivity.p == pytest.approx(0.13, abs=0.005)
