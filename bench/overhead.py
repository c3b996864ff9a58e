"""Orchestration overhead of a search: where each slot's wall time goes, against training.

Runs the same search (the default space, or --space; --epochs N derives a copy of the space that
trains N epochs, for longer trials) at each --concurrency on a local Ray, SQLite store in a
temporary directory, each run in a fresh Python process; with --baseline DIR the same runs also
go through the octsearch package of another checkout (side by side, in alternating order, over
--rounds). A *slot* is one trainable process; slot time = concurrency x wall time from Ray ready
to the end of the search. It splits exactly into the parts printed (per trial: means; per
search: slot seconds spread over the trials), read from the driver's per-trial timeline (driver
starts a trial, trainable begins, trainable ends, driver sees it complete) and each trial's final
report. What the earlier version of this script called "other slot time" is the sum of "trainable
process start", "between trials", "end of search" and "Tune and Ray shutdown".

Percentages are of the training time: "overhead % of train" = (slot time - training) / training
(validation counts as overhead), "orchestration %" leaves validation out. The headline line,
``orchestration overhead: X% of trial work (training + validation)``, is the target's figure
(issue 23: validation is trial work), for this checkout at the largest --concurrency.
Per-trial parts recur with every trial (means over all trials, so the parts add up); per-search
parts are paid once per search, so their share falls as a search runs more trials. Training time
itself grows with contention (see "train wall / train CPU"): where two columns trained at
different speeds, compare the parts in seconds rather than in percent.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

# (key, unit, what it is); computed by _parts. Units: s/trial = seconds per trial (mean).
ROWS = [
    ("trials", "count", "trials that finished (complete and repeat evaluations)"),
    ("wall", "s", "launch's Ray start to the end of the search"),
    ("Ray start", "s", "ray.init (not slot time)"),
    ("- per trial -", "", ""),
    ("training", "s/trial", "the epochs of training inside the trial"),
    ("validation", "s/trial", "one pass over the validation split (fused inference model)"),
    ("set-up in the trial", "s/trial", "in the trainable around training and validation, after a process's first trial"),
    ("Ray dispatch", "s/trial", "driver starts the trial -> trainable begins (a reused process)"),
    ("Ray return", "s/trial", "trainable ends -> driver sees the trial complete"),
    ("between trials", "s/trial", "driver sees a trial complete -> starts the next one on that slot"),
    ("- per search, spread over the trials -", "", ""),
    ("trainable process start", "s/trial", "Ray ready -> each slot's first trial: Tune set-up, first draw, process boot"),
    ("worker start-up", "s/trial", "each slot's first dispatch: the trainable imports torch and octsearch"),
    ("first-trial set-up", "s/trial", "extra set-up of each process's first trial (torch.optim imports dynamo; data)"),
    ("end of search", "s/trial", "slots with no trial left while the last ones finish (budget spent)"),
    ("Tune and Ray shutdown", "s/trial", "last trial complete -> the search returns (actors stopped, ray.shutdown)"),
    ("unaccounted", "s/trial", "slot time not in any part above (a check: about 0)"),
    ("- driver, beside the slots on the same cores -", "", ""),
    ("sampler", "s/trial", "Optuna suggest and tell"),
    ("FLOPs screen", "s/trial", "counting each new configuration (overlapped with training: prefetch)"),
    ("store writes", "s/trial", "the recorder's writes (start, evaluation, front)"),
    ("driver CPU", "s/trial", "CPU time of the driver process over the whole launch"),
    ("Ray processes CPU", "s/trial", "CPU time of Ray's own processes (raylet, GCS, agents, monitors; not trainables)"),
    ("- ratios -", "", ""),
    ("per-trial overhead % of train", "%", "validation + set-up + dispatch + return + between, / training"),
    ("  without validation", "%", "set-up + dispatch + return + between, / training"),
    ("per-search overhead % of train", "%", "the per-search parts / training"),
    ("overhead % of train", "%", "(slot time - training) / training: the issue's figure"),
    ("orchestration % of train", "%", "(slot time - training - validation) / training"),
    ("orchestration % of trial work", "%", "(slot time - training - validation) / (training + validation): the target"),
    ("train wall / train CPU", "ratio", "1.00: each trial had its core to itself (contention shows here)"),
]
PER_TRIAL = ("validation", "set-up in the trial", "Ray dispatch", "Ray return", "between trials")
PER_SEARCH = ("trainable process start", "worker start-up", "first-trial set-up", "end of search",
              "Tune and Ray shutdown")


def _descendants_cpu() -> dict[int, float]:
    """CPU seconds (user + system) of every process below this one, from Linux's /proc."""
    stats = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, ValueError, IndexError):
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                stats[int(entry.name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"))
    below, frontier = {}, {os.getpid()}
    while frontier:
        frontier = {pid for pid, (ppid, _) in stats.items() if ppid in frontier and pid not in below}
        below.update({pid: stats[pid][1] for pid in frontier})
    return below


@contextlib.contextmanager
def _child_cpu(every: float = 0.5) -> Iterator[dict[int, float]]:
    """CPU seconds of every process below this one (Ray's), sampled every ``every`` seconds
    while the search runs: a process's last ``every`` seconds before it ends are missed."""
    import threading

    seen: dict[int, float] = {}
    done = threading.Event()

    def sample() -> None:
        while not done.wait(every):
            seen.update(_descendants_cpu())
    thread = threading.Thread(target=sample, daemon=True)
    if Path("/proc/self/stat").exists():
        thread.start()
    try:
        yield seen
    finally:
        done.set()
        if thread.is_alive():
            thread.join()


@contextlib.contextmanager
def _final_reports() -> Iterator[list[dict]]:
    """Every trial's final report as the driver receives it (the one hook of this benchmark)."""
    from octsearch.search.driver import SearchDriver

    seen: list[dict] = []
    original = SearchDriver.completed

    def completed(self, trial_id, result, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        if result is not None:  # a final report (a WorkerReport)
            seen.append(result.to_tune())
        return original(self, trial_id, result, *args, **kwargs)

    SearchDriver.completed = completed
    try:
        yield seen
    finally:
        SearchDriver.completed = original


def measure(space: str, trials: int, concurrency: int, folder: Path) -> dict:
    """One search; the raw figures _parts splits."""
    from octsearch.search.launch import LaunchOptions, launch

    cpu = time.process_time()
    with _final_reports() as reports, _child_cpu() as children:
        result = launch(LaunchOptions(
            space=space, name=f"overhead-c{concurrency}", trials=trials, concurrency=concurrency,
            db=f"sqlite:///{folder / 'bench.db'}", results_dir=str(folder / "tune"),
        ))
    ended = time.time()  # launch returns right after the search ends
    return {"concurrency": concurrency, "elapsed": result.elapsed_seconds, "startup": result.startup_seconds,
            "ended": ended, "timeline": result.timeline or [], "driver": result.driver_seconds or {},
            "driver_cpu": time.process_time() - cpu, "reports": reports,
            "ray_cpu": sum(v for pid, v in children.items() if pid not in {r["pid"] for r in reports})}


def _slot_parts(raw: dict) -> dict[str, float]:
    """Each slot's wall time (Ray ready -> end) split into parts; summed over slots."""
    ready = raw["ended"] - (raw["elapsed"] - raw["startup"])
    by_pid: dict[int, list] = defaultdict(list)
    for pid, started, begins, ends, completed in raw["timeline"]:
        by_pid[pid].append((started, begins, ends, completed))
    last = max((row[3] for rows in by_pid.values() for row in rows), default=ready)
    p: dict[str, float] = defaultdict(float)
    for rows in by_pid.values():
        rows.sort()
        p["trainable process start"] += rows[0][0] - ready
        p["worker start-up"] += rows[0][1] - rows[0][0]
        for i, (started, begins, ends, completed) in enumerate(rows):
            p["Ray dispatch"] += (begins - started) if i else 0.0
            p["in trainable"] += ends - begins
            p["Ray return"] += completed - ends
            p["between trials"] += (started - rows[i - 1][3]) if i else 0.0
        p["end of search"] += last - rows[-1][3]
        p["Tune and Ray shutdown"] += raw["ended"] - last
    idle = raw["concurrency"] - len(by_pid)  # slots that never ran a trial
    p["end of search"] += max(0, idle) * (raw["ended"] - ready)
    return p


def _parts(raw: dict) -> dict[str, float]:
    reports = raw["reports"]
    n = max(1, len(reports))
    p = _slot_parts(raw)
    train = sum(r["train_seconds"] for r in reports)
    validation = sum(r["eval_seconds"] for r in reports)
    setups = _setups(reports)
    first = [s for s, is_first in setups if is_first]
    steady = [s for s, is_first in setups if not is_first] or [0.0]
    steady_mean = sum(steady) / len(steady)
    slot_time = raw["concurrency"] * (raw["elapsed"] - raw["startup"])
    worker = sum(r["worker_seconds"] for r in reports)
    out = {"trials": len(reports), "wall": raw["elapsed"], "Ray start": raw["startup"],
           "training": train / n, "validation": validation / n, "set-up in the trial": steady_mean}
    out["first-trial set-up"] = (sum(first) - len(first) * steady_mean) / n
    for key in ("Ray dispatch", "Ray return", "between trials", "trainable process start", "worker start-up",
                "end of search", "Tune and Ray shutdown"):
        out[key] = p[key] / n
    # slot time less every part, the time in the trainable by its own clock (worker_seconds)
    out["unaccounted"] = (slot_time - sum(p[k] for k in p if k != "in trainable") - worker) / n
    driver = raw["driver"]
    out["sampler"] = sum(v for k, v in driver.items() if k.startswith("sampler")) / n
    out["FLOPs screen"] = driver.get("screen (FLOPs count, budget)", 0.0) / n
    out["store writes"] = driver.get("store writes", 0.0) / n
    out["driver CPU"] = raw["driver_cpu"] / n
    out["Ray processes CPU"] = raw["ray_cpu"] / n
    _ratios(out, slot_time / n, sum(r.get("train_cpu_seconds", 0.0) for r in reports) / n)
    return out


def _setups(reports: list[dict]) -> list[tuple[float, bool]]:
    """(set-up seconds, first trial of its process?) of every trial."""
    seen: set[int] = set()
    out = []
    for r in sorted(reports, key=lambda r: r["t_begin"]):
        out.append((r["worker_seconds"] - r["train_seconds"] - r["eval_seconds"], r["pid"] not in seen))
        seen.add(r["pid"])
    return out


def _ratios(out: dict, slot_per_trial: float, train_cpu: float) -> None:
    train = max(out["training"], 1e-9)
    per_trial = sum(out[k] for k in PER_TRIAL)
    out["per-trial overhead % of train"] = 100 * per_trial / train
    out["  without validation"] = 100 * (per_trial - out["validation"]) / train
    out["per-search overhead % of train"] = 100 * sum(out[k] for k in PER_SEARCH) / train
    out["overhead % of train"] = 100 * (slot_per_trial - train) / train
    out["orchestration % of train"] = 100 * (slot_per_trial - train - out["validation"]) / train
    # validation is trial work (the trial's answer needs it); the target is on what is left
    out["orchestration % of trial work"] = 100 * (slot_per_trial - train - out["validation"]) / (train + out["validation"])
    out["train wall / train CPU"] = train / train_cpu if train_cpu else float("nan")


def derived_space(space: str, epochs: int, folder: Path) -> str:
    """A copy of ``space`` whose proxy budget trains ``epochs`` epochs (a relative data root made absolute)."""
    import yaml

    from octsearch.spaces import find_space

    path = find_space(space).resolve()
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data.setdefault("budget", {})["epochs"] = epochs
    root = (data.get("data") or {}).get("root")
    if isinstance(root, str) and not root.startswith(("/", "~", "$")):
        data["data"]["root"] = str(path.parent / root)
    out = folder / f"{path.stem}-{epochs}ep.yaml"
    out.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return str(out)


def _run_child(args: argparse.Namespace, space: str, concurrency: int, checkout: str | None, folder: Path) -> dict:
    """One measurement in a fresh process (``checkout``: another octsearch on PYTHONPATH)."""
    out = folder / f"run-{time.monotonic_ns()}.json"
    env = dict(os.environ)
    if checkout:
        env["PYTHONPATH"] = os.pathsep.join([str(Path(checkout).resolve()), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    cmd = [sys.executable, __file__, "--one", "--space", space, "--trials", str(args.trials),
           "--concurrency", str(concurrency), "--json", str(out)]
    subprocess.run(cmd, env=env, check=True)
    return json.loads(out.read_text())


def _mean(rows: list[dict]) -> dict:
    return {k: sum(r[k] for r in rows) / len(rows) for k in rows[0]}


def _print(columns: dict[str, dict], rounds: dict[str, list[float]]) -> None:
    names = list(columns)
    print("Search orchestration overhead (s = seconds of wall time; s/trial = mean seconds per trial; "
          "per-search parts are slot seconds spread over the trials)")
    width = max(len(r[0]) for r in ROWS)
    print(f"{'part'.ljust(width)}  {'unit':>7}  " + "  ".join(f"{n:>14}" for n in names) + "  what it is")
    for key, unit, what in ROWS:
        if not unit:
            print(key)
            continue
        cells = "  ".join(f"{columns[n][key]:>14.{0 if unit == 'count' else 2}f}" for n in names)
        print(f"{key.ljust(width)}  {unit:>7}  {cells}  {what}")
    for name, values in rounds.items():
        print(f"overhead % of train, each round, {name}: " + ", ".join(f"{v:.1f}" for v in values))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--space", default="default")
    parser.add_argument("--trials", type=int, default=8)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--epochs", type=int, help="train this many epochs per trial (a derived copy of the space)")
    parser.add_argument("--baseline", metavar="DIR", help="also run another checkout's octsearch, side by side")
    parser.add_argument("--rounds", type=int, default=1, help="repeat every run, in alternating order")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--json", help=argparse.SUPPRESS)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if args.one:
            Path(args.json).write_text(json.dumps(_parts(measure(args.space, args.trials, args.concurrency[0], folder))))
            return 0
        space = derived_space(args.space, args.epochs, folder) if args.epochs else args.space
        sides = [("this", None)] + ([("baseline", args.baseline)] if args.baseline else [])
        runs: dict[str, list[dict]] = defaultdict(list)
        for r in range(args.rounds):
            for c in args.concurrency:
                for label, checkout in (sides if r % 2 == 0 else sides[::-1]):
                    runs[f"c={c} {label}"].append(_run_child(args, space, c, checkout, folder))
                    print(f"round {r + 1}: c={c} {label} done", file=sys.stderr, flush=True)
    names = [f"c={c} {label}" for c in args.concurrency for label, _ in sides]
    _print({n: _mean(runs[n]) for n in names}, {n: [x["overhead % of train"] for x in runs[n]] for n in names})
    if args.baseline:
        for c in args.concurrency:
            this, base = _mean(runs[f"c={c} this"]), _mean(runs[f"c={c} baseline"])
            print(f"c={c}: overhead % of train {this['overhead % of train']:.1f} (this) vs "
                  f"{base['overhead % of train']:.1f} (baseline); orchestration % {this['orchestration % of train']:.1f} "
                  f"vs {base['orchestration % of train']:.1f}; (slot time / training), this / baseline: "
                  f"{(1 + this['overhead % of train'] / 100) / (1 + base['overhead % of train'] / 100):.3f}")
    headline = _mean(runs[f"c={max(args.concurrency)} this"])  # the target's setting: the most workers
    print(f"orchestration overhead: {headline['orchestration % of trial work']:.1f}% of trial work (training + validation)")
    print(f"command: python {shlex.join(['bench/overhead.py', *sys.argv[1:]])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
