"""The floor under the search overhead: what Ray, Tune and torch cost a search before octsearch does
anything, measured with a trainable that does nothing of octsearch's.

The same local Ray as a launch (``octsearch.search.cluster.ray_session``) and the same Tune set-up
(function trainable, one CPU each, ``reuse_actors``, ``max_concurrent_trials`` = --concurrency,
no Tune loggers) run --trials trials of a CPU busy loop of --work seconds each (in place of
training + validation). Each process's first trial imports torch and then ``torch._dynamo`` (what
``torch.optim`` imports at the first optimizer): the two imports every octsearch trainable pays.
Slot time is counted as ``bench/overhead.py`` counts it (concurrency x wall time from Ray ready to
the end of the search), so the figures compare line by line with its per-search parts:

- Ray and Tune start: Ray ready -> each slot's first trial begins (Tune set-up, the actor's process
  and its ``ray.tune`` import);
- torch import and ``torch._dynamo`` import, in each slot's first trial (seconds of wall time,
  one torch thread);
- per-trial dispatch: the slot time between trials, beyond the busy loop, per trial;
- shutdown: the last trial's end -> ``ray.shutdown`` returns;
- end of search: slots idle while the last trial runs (near 0 here: the busy loops are equal; a real
  search's trials differ, see bench/results/overhead.md).

The last line gives the floor as a share of --trials x --work seconds of trial work, beside the 5%
target of issue 23.

    python bench/overhead_floor.py [--trials 40] [--concurrency 2] [--work 7.74]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

from _common import command_line, machine, reexec_with_fixed_env  # noqa: E402

_imports: dict[str, float] = {}  # in each trainable process: the first trial's import times


def busy_trial(config: dict) -> None:
    """A trial: the imports octsearch's trainable pays once per process, then ``work`` seconds of
    CPU busy loop; reports its begin and end (wall clock, seconds since the epoch)."""
    import os

    from ray import tune

    began = time.time()
    first = not _imports
    if first:
        start = time.perf_counter()
        import torch

        _imports["torch"] = time.perf_counter() - start
        torch.set_num_threads(1)
        start = time.perf_counter()
        import torch._dynamo  # noqa: F401  (torch.optim's first optimizer imports it)

        _imports["dynamo"] = time.perf_counter() - start
    work_from = time.time()
    while time.time() - work_from < config["work"]:
        pass
    tune.report({"began": began, "work_from": work_from, "ended": time.time(), "pid": os.getpid(),
                 "first": first, "torch_s": _imports["torch"], "dynamo_s": _imports["dynamo"]})


def measure(trials: int, concurrency: int, work: float) -> dict:
    from ray import tune

    from octsearch.search.cluster import ray_session

    with tempfile.TemporaryDirectory() as folder, ray_session(None, num_cpus=concurrency):
        ready = time.time()
        tuner = tune.Tuner(
            tune.with_resources(busy_trial, {"cpu": 1}),
            param_space={"work": work},
            tune_config=tune.TuneConfig(num_samples=trials, max_concurrent_trials=concurrency, reuse_actors=True),
            run_config=tune.RunConfig(storage_path=folder, verbose=0),
        )
        results = [r.metrics for r in tuner.fit()]
        fit_done = time.time()
    done = time.time()
    return {"ready": ready, "fit_done": fit_done, "done": done, "reports": results}


def figures(raw: dict, trials: int, concurrency: int, work: float) -> dict[str, float]:
    reports = raw["reports"]
    ready, done = raw["ready"], raw["done"]
    slot_time = concurrency * (done - ready)
    firsts = [r for r in reports if r["first"]]
    last_end = max(r["ended"] for r in reports)
    start = sum(r["began"] - ready for r in firsts)
    torch_s = sum(r["torch_s"] for r in firsts)
    dynamo_s = sum(r["dynamo_s"] for r in firsts)
    busy = sum(r["ended"] - r["work_from"] for r in reports)
    by_slot: dict[int, list[dict]] = {}
    for r in reports:
        by_slot.setdefault(r["pid"], []).append(r)
    tail = sum(last_end - max(r["ended"] for r in rs) for rs in by_slot.values())
    tail += (concurrency - len(by_slot)) * (last_end - ready)  # slots that never ran a trial
    shutdown = concurrency * (done - last_end)
    between = slot_time - start - torch_s - dynamo_s - busy - tail - shutdown
    floor = slot_time - busy
    return {"slot time": slot_time, "Ray and Tune start": start, "torch import": torch_s,
            "torch._dynamo import": dynamo_s, "per-trial dispatch": between, "end of search": tail,
            "shutdown": shutdown, "floor": floor, "floor %": 100 * floor / (trials * work),
            "work": busy}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=40)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--work", type=float, default=7.74,
                        help="seconds of CPU busy loop per trial (default: the default space's "
                             "training + validation, bench/results/overhead.md)")
    args = parser.parse_args()
    if args.trials < args.concurrency or args.concurrency < 1 or args.work <= 0:
        parser.error(f"--trials {args.trials}, --concurrency {args.concurrency}, --work {args.work}; accepted: "
                     "concurrency >= 1, trials >= concurrency, work > 0 seconds")
    reexec_with_fixed_env()
    print(machine())
    out = figures(measure(args.trials, args.concurrency, args.work), args.trials, args.concurrency, args.work)
    print(f"{args.trials} trials of {args.work:.2f} s busy loop at concurrency {args.concurrency} "
          "(slot seconds over the whole search; slot time = concurrency x wall from Ray ready to ray.shutdown's return)")
    for key in ("slot time", "work", "Ray and Tune start", "torch import", "torch._dynamo import",
                "per-trial dispatch", "end of search", "shutdown", "floor"):
        print(f"  {key:24s} {out[key]:8.2f} slot-s")
    print(f"floor of orchestration: {out['floor %']:.1f}% of trial work ({args.trials} x {args.work:.2f} s; "
          "issue 23's target: under 5%)")
    print(f"command: {command_line()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
