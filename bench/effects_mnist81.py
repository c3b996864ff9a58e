"""Benchmark: the model of a search (``octsearch effects``) on the mnist81 table, and its calibration.

Part 1, mnist81: fits the pooled model on every evaluation of ``bench/tables/mnist81.db`` (81
configurations x 3 seeds, read from a copy of the file) and prints each parameter's effect per
alpha with its SE, the Wald tests, the residual SD against the pooled seed SD, and the
leave-one-seed-out RMSE of the model against the per-configuration means of the other seeds (the
model should predict a held-out seed better; if not, the script says why).

Part 2, calibration (``--planted-seeds K``, 0 skips it): K x 100 planted tables of the tests'
shape (tests/planted_tables.py: 81 configurations x 2 seeds, seed noise 1.3 points, a FLOPs
curve, planted effects up to 1.5 points): the share of effects within 2 SE of the truth, with the
model's SE (the larger of cluster-robust and classic) and with each alone, and the family-wise
false-positive rate after Holm on null tables.

Units: points of validation accuracy (percent of the validation split) at equal FLOPs (conv + fc
multiply-adds, the table's convention), against alpha 0.

    python bench/effects_mnist81.py [--db bench/tables/mnist81.db] [--planted-seeds 20] [--null-tables 1000]
"""

from __future__ import annotations

import argparse
import gc
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def mnist81(db: Path) -> None:
    from octsearch.analysis import search_effects
    from octsearch.cli.effects_view import additivity_line, alpha_text, diagnostic_lines
    from octsearch.store import open_store

    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "mnist81.db"
        shutil.copyfile(db, copy)
        with open_store(f"sqlite:///{copy}", create=False, upgrade=False) as store:
            r = search_effects(store, "mnist81")
    print(f"mnist81 ({r.n_evaluations} evaluations of {r.n_configurations} configurations, budget {r.budget}): "
          f"effects in points of validation accuracy at equal FLOPs ({r.flops_label}), against alpha 0")
    for e in r.effects:
        print(f"  {e.parameter:13s} alpha {alpha_text(e.alpha):4s} {e.estimate:+.2f} +/- {e.se:.2f} "
              f"(cluster {e.se_cluster:.2f}, classic {e.se_classic:.2f}; z {e.z:+.2f}, p {e.p:.3f}, Holm {e.p_holm:.3f})")
    for t in r.parameters:
        print(f"  {t.parameter:13s} Wald chi2({t.df}) = {t.statistic:.2f}, p {t.p:.3f}, Holm {t.p_holm:.3f}")
    for line in diagnostic_lines(r)[:2]:
        print(f"  {line}")
    print(f"  {additivity_line(r.additivity)}")
    cv = r.diagnostics.cv
    if cv is not None and not cv.model_wins:
        print("  the model lost to the means: the configurations carry structure it does not (see interactions)")


def calibration(seeds: int, null_tables: int) -> None:
    from scipy.stats import norm
    from statsmodels.stats.multitest import multipletests

    sys.path.insert(0, str(ROOT / "tests"))
    from planted_tables import NULL, PARAMS, PLANTED, planted_table

    from octsearch.analysis.effects import effects_of
    from octsearch.analysis.model import fit

    fit(planted_table(np.random.default_rng(0)), PARAMS)
    gc.freeze()  # statsmodels' Holm calls gc.collect(): keep the imported heap out of it
    blocks = []
    for seed in range(seeds):
        rng, hits = np.random.default_rng(seed), np.zeros(3)
        for _ in range(100):
            for e in effects_of(fit(planted_table(rng), PARAMS)):
                error = abs(e.estimate - PLANTED[e.parameter].get(e.alpha, 0.0))
                hits += [error <= 2 * e.se, error <= 2 * e.se_cluster, error <= 2 * e.se_classic]
        blocks.append(hits / 800)
    shares = np.array(blocks)
    print(f"planted tables, seeds 0-{seeds - 1} x 100 tables: share of effects within 2 SE, mean (SD over seeds; "
          "seeds below 95%)")
    for k, name in enumerate(("model (larger of the two)", "cluster-robust CR1 alone", "classic alone")):
        print(f"  {name:26s} {shares[:, k].mean():.1%} ({shares[:, k].std():.1%}; {(shares[:, k] < 0.95).sum()} of {seeds})")
    rng, model_fp, cluster_fp = np.random.default_rng(1000), 0, 0
    for _ in range(null_tables):
        effects = effects_of(fit(planted_table(rng, NULL), PARAMS))
        model_fp += any(e.significant for e in effects)
        p = [2 * norm.sf(abs(e.estimate / e.se_cluster)) for e in effects]
        cluster_fp += bool(multipletests(p, method="holm")[0].any())
    print(f"null tables ({null_tables}): any Holm p < .05 in {model_fp / null_tables:.1%} with the model's SE, "
          f"{cluster_fp / null_tables:.1%} with CR1 alone")
    gc.unfreeze()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", type=Path, default=ROOT / "bench" / "tables" / "mnist81.db")
    parser.add_argument("--planted-seeds", type=int, default=20)
    parser.add_argument("--null-tables", type=int, default=1000)
    args = parser.parse_args()
    mnist81(args.db)
    if args.planted_seeds:
        calibration(args.planted_seeds, args.null_tables)
    print(f"command: python {' '.join(sys.argv)}")


if __name__ == "__main__":
    main()
