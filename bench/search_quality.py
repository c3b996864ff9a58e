"""Which sampler finds the true front soonest: searches replayed on a table, scored on the table.

For each sampler, with and without repeat seeds, over several sampler seeds, a search is replayed
(`octsearch launch SPACE --replay TABLE`, in simulated time) and its evaluations scored with the
table's mean accuracy per configuration (a lucky seed earns nothing). Reported, median [IQR] over
the seeds: the share of the table's true front hypervolume reached after a given number of
evaluations, the evaluations needed to reach 95% and 99% of it, and the accuracy regret (points
of validation accuracy below the table's best) at three FLOPs budgets. The replays are written to
a copy of the table's database in a temporary folder; the shipped table is never changed.

    python bench/search_quality.py --table mnist81                  # the shipped table
    python bench/search_quality.py --table mnist81 --samplers nsga2,random --seeds 3 --quick
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import table  # noqa: E402

TABLES = Path(__file__).resolve().parent / "tables"
SAMPLERS = ("nsga2", "nsga3", "tpe", "gp", "random", "qmc")
FLOPS_QUANTILES = (0.25, 0.5, 0.75)  # the regret's FLOPs budgets, as quantiles of the table's FLOPs


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--table", default="mnist81", help="the table's name (default mnist81)")
    p.add_argument("--db", help="the table's store (default: sqlite:///bench/tables/TABLE.db)")
    p.add_argument("--samplers", default=",".join(SAMPLERS), help="comma-separated (default: all six)")
    p.add_argument("--seeds", type=int, default=5, help="sampler seeds per strategy (default 5)")
    p.add_argument("--share", type=float, default=0.5,
                   help="evaluations per replay as a share of the table's configurations (default 0.5)")
    p.add_argument("--repeats", default="0,1", help="repeat seeds per front candidate to compare (default 0,1)")
    p.add_argument("--quick", action="store_true", help="2 seeds, a quarter of the table: a smoke run")
    args = p.parse_args()
    if args.quick:
        args.seeds, args.share = 2, 0.25
    return args


def replay(db: str, space_file: Path, table_name: str, sampler: str, repeats: int, seed: int, trials: int) -> str:
    from octsearch.search.launch import LaunchOptions, launch

    name = f"{sampler}-r{repeats}-s{seed}"
    launch(LaunchOptions(space=str(space_file), name=name, trials=trials, sampler=sampler, seed=seed,
                         repeats=repeats, db=db, replay=table_name))
    return name


def quantiles(values: list[float]) -> tuple[float, float, float]:
    if len(values) == 1:
        return values[0], values[0], values[0]
    q = statistics.quantiles(values, n=4, method="inclusive")
    return q[1], q[0], q[2]


def fmt(values: list[float], scale: float = 1.0, digits: int = 1) -> str:
    med, lo, hi = (v * scale for v in quantiles(values))
    return f"{med:.{digits}f} [{lo:.{digits}f}-{hi:.{digits}f}]"


def reach(values: list[int | None], cap: int) -> str:
    """Median [IQR] of evaluations to reach a share; a replay that never reached it counts as > cap."""
    as_num = [v if v is not None else cap + 1 for v in values]
    med, lo, hi = quantiles([float(v) for v in as_num])
    shown = [f">{cap}" if x > cap else f"{x:.0f}" for x in (med, lo, hi)]
    return f"{shown[0]} [{shown[1]}-{shown[2]}]"


def main() -> int:
    args = parse_args()
    from octsearch.store import open_store
    from octsearch.tables.lookup import Table
    from octsearch.tables.quality import (
        TableScore,
        evaluated_in_order,
        evaluations_to_reach,
        share_trajectory,
        uniform_keys,
    )

    source_db = Path(args.db.removeprefix("sqlite:///")) if args.db else TABLES / f"{args.table}.db"
    work = Path(tempfile.mkdtemp(prefix="octsearch-quality-"))
    shutil.copy(source_db, work / "replays.db")
    db = f"sqlite:///{work / 'replays.db'}"
    store = open_store(db)
    tab = Table(store, args.table)
    score = TableScore(tab)
    space_file = work / f"{args.table}.yaml"
    space_file.write_text(tab.record.space_text)  # the same text: the same space hash as the table
    n_configs = len(tab)
    trials = max(4, round(args.share * n_configs))
    checkpoints = sorted({max(1, round(f * n_configs)) for f in (0.05, 0.1, 0.2, 0.3, 0.5)} | {trials})
    checkpoints = [c for c in checkpoints if c <= trials]
    budgets = score.flops_quantiles(FLOPS_QUANTILES)
    print(f"table {args.table!r}: {n_configs} configurations, {sum(len(tab.runs(t.configuration)) for t in tab.trials.values())} "
          f"runs; true front hypervolume {score.true_hypervolume:.5f} (accuracy x share of alpha-0 FLOPs saved); "
          f"the uniform-alpha configurations alone reach {100 * score.share(uniform_keys(tab)):.1f}% of it")
    print(f"each replay: {trials} trials ({args.share:.0%} of the table); {args.seeds} sampler seeds per strategy\n")
    rows, started = [], time.monotonic()
    for sampler in args.samplers.split(","):
        for repeats in (int(r) for r in args.repeats.split(",")):
            t0 = time.monotonic()
            trajectories, regrets = [], {b: [] for b in budgets}
            for seed in range(args.seeds):
                name = replay(db, space_file, args.table, sampler, repeats, seed, trials)
                keys = evaluated_in_order(store, name)
                trajectories.append(share_trajectory(score, keys))
                for b in budgets:
                    regrets[b].append(score.regret(set(keys), b))
            shares_at = [fmt([t[min(c, len(t)) - 1] for t in trajectories], 100) for c in checkpoints]
            rows.append([sampler, str(repeats), *shares_at,
                         reach([evaluations_to_reach(t, 0.95) for t in trajectories], trials),
                         reach([evaluations_to_reach(t, 0.99) for t in trajectories], trials),
                         *(fmt(regrets[b], 100, 2) for b in budgets), f"{time.monotonic() - t0:.0f}"])
            print(f"  {sampler} repeats {repeats}: {time.monotonic() - t0:.0f} s", flush=True)
    headers = ["sampler", "repeats", *(f"HV% @{c}" for c in checkpoints), "evals to 95%", "evals to 99%",
               *(f"regret pts @{b / 1e9:.4f} GF" for b in budgets), "wall s"]
    print()
    print(table(headers, rows))
    print(f"\nHV% @n: share of the table's true front hypervolume (%) after n evaluations (training runs, repeat "
          f"seeds included), median [interquartile range] over {args.seeds} sampler seeds; every configuration "
          f"scored with the table's mean validation accuracy over its seeds. Evals to 95%/99%: evaluations "
          f"until the share first reaches it ('>{trials}': not within the replay). Regret: points of validation "
          f"accuracy below the table's best configuration with no more FLOPs than the budget (GF = 1e9 "
          f"multiply-adds, {tab.record.flops_key} convention; the 25/50/75% quantiles of the table's FLOPs), "
          f"after {trials} trials.")
    print(f"total {time.monotonic() - started:.0f} s wall; replays kept in {work}")
    print(f"command: python {shlex.join([os.path.relpath(sys.argv[0]), *sys.argv[1:]])}")
    store.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
