"""Orchestration overhead of a search: wall time against the trials' own training time.

For the default space (or --space), runs the same search at 1 and at 2 concurrent trials on a
local Ray (SQLite store in a temporary directory) and itemises, per trial, where time goes:
sampling, FLOP counting (screening), database writes (driver); set-up inside the trial (data,
model, FLOPs, evaluation); and Ray scheduling (slot time not spent inside a trial).

Overhead = (wall after Ray start x concurrency - sum of training seconds) / sum of training
seconds; the orchestration share counts the per-epoch validation as trial work too. Target:
under 10% at 2 workers.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import tempfile
from pathlib import Path


def run(space: str, trials: int, concurrency: int, folder: Path) -> dict:
    from octsearch.search.launch import LaunchOptions, launch

    result = launch(LaunchOptions(
        space=space, name=f"overhead-c{concurrency}", trials=trials, concurrency=concurrency,
        db=f"sqlite:///{folder / 'bench.db'}", results_dir=str(folder / "tune"),
    ))
    n = max(1, result.counts.get("complete", 0) + result.counts.get("repeat", 0))
    busy_wall = result.elapsed_seconds - result.startup_seconds
    slots = busy_wall * concurrency
    driver = result.driver_seconds or {}
    return {
        "concurrency": concurrency, "trials": n, "wall s": result.elapsed_seconds,
        "Ray start s": result.startup_seconds, "sum train s": result.train_seconds,
        "per trial: train s": result.train_seconds / n,
        "evaluation s": result.eval_seconds / n,
        "set-up in trial s": (result.worker_seconds - result.train_seconds - result.eval_seconds) / n,
        "sampler s": sum(v for k, v in driver.items() if k.startswith("sampler")) / n,
        "FLOPs screen s": driver.get("screen (FLOPs count, budget)", 0.0) / n,
        "store writes s": driver.get("store writes", 0.0) / n,
        "Ray scheduling s": (slots - result.worker_seconds) / n,
        "overhead % of train": 100 * (slots - result.train_seconds) / max(result.train_seconds, 1e-9),
        "orchestration % (eval = work)": 100 * (slots - result.train_seconds - result.eval_seconds)
        / max(result.train_seconds + result.eval_seconds, 1e-9),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--space", default="default")
    parser.add_argument("--trials", type=int, default=8)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for c in args.concurrency:
            rows.append(run(args.space, args.trials, c, Path(tmp)))
            print(f"concurrency {c}: done", file=sys.stderr, flush=True)
    keys = list(rows[0])
    width = max(len(k) for k in keys)
    print("Search orchestration overhead (seconds are wall time; per-trial figures are means)")
    for k in keys:
        cells = "  ".join(f"{r[k]:>10.2f}" if isinstance(r[k], float) else f"{r[k]:>10}" for r in rows)
        print(f"{k.ljust(width)}  {cells}")
    print(f"command: python {shlex.join(['bench/overhead.py', *sys.argv[1:]])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
