"""Orchestration overhead of a search: wall time against the trials' own training time.

For the default space (or --space), runs the same search at 1 and at 2 concurrent trials on a
local Ray (SQLite store in a temporary directory) and itemises, per trial (means), where time
goes: sampling, FLOP counting (screening) and database writes in the driver; Ray's dispatch
(driver starts the trial -> the trainable begins; steady state, first trial per worker excluded)
and return (trainable ends -> the driver sees it complete); set-up inside the trainable; the
one-off start-up of each worker process (its first trial's dispatch: process, imports), spread
over all trials; and the rest of the slot time (driver work between trials, the end of the search
when fewer trials than slots are left).

Orchestration % of trial = (wall after Ray start x concurrency - sum of trial seconds) / sum of
trial seconds, a trial being its training and its validation. Target: under 10% at 2 workers.
"overhead % of train" counts validation as overhead too.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import tempfile
from pathlib import Path


def run(space: str, trials: int, concurrency: int, folder: Path) -> dict:
    from octsearch.search.launch import LaunchOptions, launch
    from octsearch.spaces.cost import _count

    _count.cache_clear()  # each run counts its own FLOPs (the same seed draws the same configurations)

    result = launch(LaunchOptions(
        space=space, name=f"overhead-c{concurrency}", trials=trials, concurrency=concurrency,
        db=f"sqlite:///{folder / 'bench.db'}", results_dir=str(folder / "tune"),
    ))
    n = max(1, result.counts.get("complete", 0) + result.counts.get("repeat", 0))
    busy_wall = result.elapsed_seconds - result.startup_seconds
    slots = busy_wall * concurrency
    trial_s = result.train_seconds + result.eval_seconds  # the work a trial is for
    setup_s = result.worker_seconds - trial_s  # inside the trainable, around training and validation
    driver = result.driver_seconds or {}
    # The first trial on each worker process pays its start-up (process, imports, data set): split
    # it off so the steady per-trial cost is visible.
    first: set[int] = set()
    dispatch = returned = startup = 0.0
    for pid, started, begins, ends, completed in sorted(result.timeline or [], key=lambda row: row[1]):
        returned += completed - ends
        if pid not in first:
            first.add(pid)
            startup += begins - started
        else:
            dispatch += begins - started
    steady = max(1, n - len(first))
    return {
        "concurrency": concurrency, "trials": n, "wall s": result.elapsed_seconds,
        "Ray start s": result.startup_seconds,
        "per trial: train s": result.train_seconds / n,
        "validation s": result.eval_seconds / n,
        "sampler s": sum(v for k, v in driver.items() if k.startswith("sampler")) / n,
        "FLOPs screen s": driver.get("screen (FLOPs count, budget)", 0.0) / n,
        "store writes s": driver.get("store writes", 0.0) / n,
        "Ray dispatch s (steady)": dispatch / steady,
        "Ray return s": returned / n,
        "set-up in trial s": setup_s / n,
        "worker start-up s (amortised)": startup / n,
        "other slot time s": (slots - result.worker_seconds - dispatch - returned - startup) / n,
        "overhead % of train": 100 * (slots - result.train_seconds) / max(result.train_seconds, 1e-9),
        "orchestration % of trial": 100 * (slots - trial_s) / max(trial_s, 1e-9),
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
