"""How much a supernet's ranking moves from one supernet seed to the next, and how it agrees with the
table under both truths (issue 24: fidelity with its noise stated).

Reads the supernet scores that ``bench/supernet_fidelity.py --search-check K --scores-cache FILE``
stored (one supernet per seed, every configuration of the table scored at the launch's defaults),
or with ``--train-seeds N`` trains what the file lacks of seeds 0..N-1 at ``--epochs E`` and
``--random K`` (recalibrated batch norm, 250 images) and adds it to the file; then prints, for
each seed and as mean +/- SD over the seeds:

- Kendall tau-b of the supernet's scores against the table's *means* truth (mean of all seeds) and
  its *model* truth (the pooled model's prediction, ``octsearch.tables.truth.model_truth``: the
  resolving truth of issue 22), overall and within FLOPs tertiles;
- the baseline beside each, leave one seed out: one stand-alone seed against the truth built from
  the other seeds (means of the others; the model fit on the others);
- the supernet's own seed-to-seed tau (every pair of supernet seeds), beside the table's;
- the mean of all the supernet seeds' scores (an ensemble costing that many supernets);
- same conclusions: the pooled model (``octsearch.analysis``) fit on the table's evaluations and on
  the supernets' scores (each supernet seed a block, as the table's seeds are), stored at budget
  ``supernet`` in a scratch store: the effects each resolves (Holm p < 0.05) and their signs.

Units: accuracy in points of validation accuracy (the table's 500-image validation split); tau is
Kendall's tau-b (scipy). Tau's null SD at n = 81 is about 0.08.

    python bench/supernet_seeds.py [--scores bench/results/supernet_confirm_mnist81_scores.json]
        [--table mnist81] [--db bench/tables/mnist81.db] [--space bench/tables/mnist81.yaml]
    python bench/supernet_seeds.py --scores FILE.json --train-seeds 3 --epochs 12 [--random 2]
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

from _common import command_line, reexec_with_fixed_env  # noqa: E402
from supernet_fidelity import (  # noqa: E402
    binned_tau,
    cached_scores,
    effect_lines,
    read_cache,
    read_table,
    supernet_effects,
    tau,
    tertiles,
)


def model_truth_points(db: str, table: str, keys: list[str], seeds: list[int] | None = None) -> list[float]:
    """The model truth (points) of each configuration key, fit on ``seeds`` (all when None)."""
    from octsearch.store import open_store
    from octsearch.tables.truth import model_truth

    with open_store(f"sqlite:///{db}", create=False, upgrade=False) as store:
        truth = model_truth(store, table, seeds)
    return [100 * truth.accuracy[k] for k in keys]


def train(space, configurations: list, args: argparse.Namespace) -> None:  # noqa: ANN001
    """Train and score the supernet seeds ``--scores`` lacks; each is written as soon as it is done."""
    from octsearch.supernet.settings import EvaluationSettings, SandwichRule, SupernetSettings

    cache = read_cache(args.scores)
    for seed in range(args.train_seeds):
        if str(seed) in cache:
            continue
        settings = SupernetSettings(args.epochs, SandwichRule(args.random), seed=seed)
        _, cpu = cached_scores(space, configurations, settings, EvaluationSettings(seed=seed), cache, args.scores)
        print(f"supernet seed {seed}: {args.epochs} epochs, sandwich of 2 + {args.random} random: trained and scored "
              f"in {cpu:.0f} CPU-s", flush=True)


def as_scores(configurations: list, points: list[float], n_val: int) -> list:
    """Cached scores (points) as the ``SupernetScore`` values the store records."""
    from octsearch.supernet.evaluate import SupernetScore

    return [SupernetScore(c, round(p * n_val / 100), n_val, 0.0) for c, p in zip(configurations, points, strict=True)]


def _sd(values: list[float]) -> str:
    return f"{statistics.fmean(values):+.3f} +/- {statistics.stdev(values):.3f}" if len(values) > 1 else f"{values[0]:+.3f}"


def taus(scores: list[float], truth: list[float], bins: list[list[int]]) -> list[float]:
    """Kendall tau overall, then within each FLOPs bin."""
    return [tau(scores, truth), *binned_tau(scores, truth, bins)]


def _row(scores: list[float], truths: dict[str, list[float]], bins: list[list[int]]) -> dict[str, list[float]]:
    return {name: taus(scores, truth, bins) for name, truth in truths.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scores", default=str(ROOT / "bench/results/supernet_confirm_mnist81_scores.json"))
    parser.add_argument("--table", default="mnist81")
    parser.add_argument("--db", default=str(ROOT / "bench/tables/mnist81.db"))
    parser.add_argument("--space", default=str(ROOT / "bench/tables/mnist81.yaml"))
    parser.add_argument("--n-val", type=int, default=500, help="validation images behind each score (the table's split)")
    parser.add_argument("--train-seeds", type=int, default=0, metavar="N", help="train supernet seeds 0..N-1 missing from --scores")
    parser.add_argument("--epochs", type=int, default=6, help="--train-seeds: supernet epochs")
    parser.add_argument("--random", type=int, default=2, help="--train-seeds: random configurations per sandwich step")
    args = parser.parse_args()
    space, table, table_effects = read_table(args.db, args.table, args.space)
    if args.train_seeds:
        reexec_with_fixed_env()
        train(space, table.configurations, args)
    cache = read_cache(args.scores)
    if not cache:
        raise SystemExit(f"--scores {args.scores}: no supernet scores there; accepted: a file written by "
                         "supernet_fidelity.py --search-check K --scores-cache FILE, or --train-seeds N to train them")
    keys = [c.key for c in table.configurations]
    scores = {int(seed): [100 * a for a in value[0]] for seed, value in sorted(cache.items())}
    if any(len(s) != len(keys) for s in scores.values()):
        raise SystemExit(f"{args.scores}: {sorted({len(s) for s in scores.values()})} scores per seed; the table "
                         f"{args.table!r} has {len(keys)} configurations (accepted: one score per configuration)")
    bins = tertiles(table.flops)
    truths = {"means": table.mean(), "model": model_truth_points(args.db, args.table, keys)}
    heads = "overall, tertiles cheap -> costly"
    print(f"table {args.table}: {len(keys)} configurations x {len(table.seeds)} seeds; supernet seeds "
          f"{sorted(scores)} ({args.scores})")

    per_seed = {name: [] for name in truths}
    for seed, s in scores.items():
        row = _row(s, truths, bins)
        for name in truths:
            per_seed[name].append(row[name])
        print(f"supernet seed {seed}: tau vs means {row['means'][0]:+.3f}, vs model {row['model'][0]:+.3f} "
              f"(tertiles vs model {', '.join(f'{t:+.2f}' for t in row['model'][1:])})")
    for name in truths:
        cols = list(zip(*per_seed[name], strict=True))
        print(f"supernet vs {name} truth, mean +/- SD over {len(scores)} supernet seeds ({heads}): "
              + "; ".join(_sd(list(c)) for c in cols))

    loso = {"means": [], "model": []}
    for s in table.seeds:
        one = [r[table.seeds.index(s)] for r in table.runs]
        others = [o for o in table.seeds if o != s]
        rest = {"means": table.mean(others), "model": model_truth_points(args.db, args.table, keys, others)}
        for name in loso:
            loso[name].append(taus(one, rest[name], bins))
    for name in loso:
        cols = list(zip(*loso[name], strict=True))
        print(f"baseline, one stand-alone seed vs the {name} truth of the other seeds, mean +/- SD over "
              f"{len(table.seeds)} seeds ({heads}): " + "; ".join(_sd(list(c)) for c in cols))

    pairs = [tau(scores[a], scores[b]) for a, b in itertools.combinations(sorted(scores), 2)]
    table_pairs = [tau([r[i] for r in table.runs], [r[j] for r in table.runs])
                   for i, j in itertools.combinations(range(len(table.seeds)), 2)]
    print(f"seed-to-seed tau: supernet {_sd(pairs)} over {len(pairs)} pairs (range {min(pairs):+.3f} to "
          f"{max(pairs):+.3f}); table (stand-alone runs) {_sd(table_pairs)} over {len(table_pairs)} pairs")
    ensemble = [statistics.fmean(col) for col in zip(*scores.values(), strict=True)]
    row = _row(ensemble, truths, bins)
    print(f"mean of the {len(scores)} supernets' scores: tau vs means {row['means'][0]:+.3f}, vs model "
          f"{row['model'][0]:+.3f}")
    print(f"same conclusions: the pooled model on the table (3 seeds) and on the {len(scores)} supernets' scores "
          f"(each supernet seed a block; n_val {args.n_val} validation images per score)")
    found = supernet_effects(space, {seed: as_scores(table.configurations, points, args.n_val)
                                      for seed, points in scores.items()})
    for line in effect_lines(table_effects, found):
        print(line)
    by = {(e.parameter, e.alpha): e for e in found}
    same = 0
    for e in table_effects:  # every effect, resolved or not: do the two at least point the same way?
        s = by[(e.parameter, e.alpha)]
        same += (s.estimate > 0) == (e.estimate > 0)
        print(f"    {e.parameter} alpha {e.alpha:g}: table {e.estimate:+.2f} +/- {e.se:.2f} points, supernets "
              f"{s.estimate:+.2f} +/- {s.se:.2f}")
    print(f"  same sign in {same} of {len(table_effects)} effects (points of validation accuracy against alpha 0, "
          "at equal FLOPs)")
    print(f"command: {command_line()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
