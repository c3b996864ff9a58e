"""The model recovers planted effects and invents none: 100 simulated tables of each kind.

Tables: 81 configurations (4 parameters x alpha {0, .25, .5}) x 2 seeds, seed noise SD 1.3 points,
a FLOPs curve (tests/planted_tables.py). Coverage: the share of all effect estimates within 2 SE of the planted
value; family-wise false positives: null tables where any effect's Holm p is below .05.
The fits go straight to the model on frames (test_effects_cli.py goes through a store and the CLI).
Figures (printed with -s): seed 0 puts 97.1% of the 800 estimates within 2 SE (plain CR1
cluster-robust SEs alone: 94.6%); the null tables at seed 1 give 3 false positives in 100 (over
1,000 tables: 2.6%). The seed is a choice: over seeds 0-19 the 100-table coverage averages 96.0%
(SD 1.3 points; 4 of the 20 fall below 95%, as a calibrated 2-SE interval, 95.4% in the long run,
allows), plain CR1 93.3% (17 of 20 below 95%): the test tells the two apart. Long-run figures:
bench/effects_mnist81.py (bench/results/effects_mnist81.md).
"""

from __future__ import annotations

import gc

import numpy as np
import pytest
from planted_tables import NULL, PARAMS, PLANTED, planted_table

from octsearch.analysis.effects import effects_of
from octsearch.analysis.model import fit

SEED = 0
NULL_SEED = 1
TABLES = 100


@pytest.fixture(autouse=True)
def quick_holm():
    """statsmodels' Holm correction calls gc.collect() (80 ms over pandas' and statsmodels' heap):
    move what exists now out of the collector's reach while 200 tables are fit."""
    gc.freeze()
    yield
    gc.unfreeze()


def _effects(frame):
    return effects_of(fit(frame, PARAMS))


def test_planted_effects_are_recovered_within_two_se():
    rng = np.random.default_rng(SEED)
    within = within_cluster_only = total = 0
    for _ in range(TABLES):
        for e in _effects(planted_table(rng)):
            truth = PLANTED[e.parameter].get(e.alpha, 0.0)
            within += abs(e.estimate - truth) <= 2 * e.se
            within_cluster_only += abs(e.estimate - truth) <= 2 * e.se_cluster
            total += 1
    print(f"\nplanted effects within 2 SE: {within}/{total} = {within / total:.1%} "
          f"(CR1 cluster-robust SE alone: {within_cluster_only / total:.1%})")
    assert total == TABLES * 8
    assert within / total >= 0.95


def test_null_tables_rarely_show_an_effect_after_holm():
    rng = np.random.default_rng(NULL_SEED)
    false_positive_tables = sum(any(e.significant for e in _effects(planted_table(rng, NULL)))
                                for _ in range(TABLES))
    print(f"\nnull tables with any Holm p < .05: {false_positive_tables}/{TABLES}")
    assert false_positive_tables <= 10  # 5% of 100, plus binomial slack


def test_a_large_effect_is_found_in_points_against_alpha_zero():
    effects = dict(PLANTED, **{"stage1.inner": {0.25: 0.0, 0.5: -4.0}})
    found = {(e.parameter, e.alpha): e for e in _effects(planted_table(np.random.default_rng(SEED), effects, seeds=3))}
    assert sorted(found) == sorted((p, a) for p in PARAMS for a in (0.25, 0.5))
    big = found[("stage1.inner", 0.5)]
    assert big.reference == 0.0 and big.significant and big.ci_low < big.estimate < big.ci_high < 0
    assert abs(big.estimate + 4.0) <= 2 * big.se
    assert big.se == max(big.se_cluster, big.se_classic)
    assert big.detectable / big.se == pytest.approx(1.959964 + 0.841621, abs=1e-5)
