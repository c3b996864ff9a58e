"""Benchmark: reading the Pareto front of a search with 100,000 trials on SQLite.

Builds a SQLite store with one search of N trials (bulk insert; Oct-ResNet-20-like slots,
paper-convention FLOPs from the alphas, accuracies that fall with FLOPs plus noise, one proxy
evaluation per trial), marks the front once (``Store.rebuild_front``), then times
``Store.front(name)``: warm (store open) and cold (``open_store`` + ``front`` in a new engine).
Prints medians in milliseconds and the command that reproduces them. Target: under 100 ms.

Side by side at the same size: the non-dominated sort of every complete trial (what
``rebuild_front`` runs) and the hypervolume (of the front, and of every trial), through moocore
(what ``octsearch.pareto`` uses) and through the pure-Python sweeps octsearch used before
(kept here, below, as the comparison).

    python bench/front_read.py [--trials 100000] [--repeats 21] [--db PATH]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

SLOTS = ["stage1.out", "stage1.block1.inner", "stage1.block2.inner", "stage1.block3.inner",
         "stage2.block1.inner", "stage2.out", "stage2.block2.inner", "stage2.block3.inner",
         "stage3.block1.inner", "stage3.block2.inner", "stage3.block3.inner", "stage3.out"]
SLOT_FLOPS = [2.4e6, 2.4e6, 2.4e6, 2.4e6, 1.8e6, 2.4e6, 2.4e6, 2.4e6, 1.8e6, 2.4e6, 2.4e6, 0.0]
GRID = [0.0, 0.125, 0.25, 0.5, 0.75]
ALPHA0_FLOPS = 40_550_000  # multiply-adds of the alpha-0 network (conv + fc)
NOISE = 0.0002  # std of the accuracy around its FLOPs trend: sets the front to a few hundred


def synthetic_trials(n: int, seed: int) -> list[dict]:
    """Distinct configurations with FLOPs from the per-layer cost 1 - 3/4 a (2 - a)."""
    rng = random.Random(seed)
    seen: set[tuple[float, ...]] = set()
    rows = []
    while len(rows) < n:
        alphas = tuple(rng.choice(GRID) if s != "stage3.out" else 0.0 for s in SLOTS)
        if alphas in seen:
            continue
        seen.add(alphas)
        saved = sum(f * 0.75 * a * (2 - a) for f, a in zip(SLOT_FLOPS, alphas, strict=True))
        flops = int(ALPHA0_FLOPS - saved)
        ratio = flops / ALPHA0_FLOPS
        accuracy = min(1.0, max(0.0, 0.86 + 0.10 * ratio + rng.gauss(0, NOISE)))
        rows.append({"alphas": dict(zip(SLOTS, alphas, strict=True)), "flops": flops, "accuracy": round(accuracy, 4)})
    return rows


def build(db: Path, n: int, seed: int) -> float:
    """Create the store and bulk-insert the search; returns seconds taken."""
    from sqlalchemy import insert, select

    from octsearch.stats import binomial_stderr
    from octsearch.store import SearchSpec, open_store

    start = time.perf_counter()
    store = open_store(f"sqlite:///{db}")
    store.create_search(SearchSpec(name="bench", space_text="bench", model_name="oct_resnet20",
                                   model_args={"num_classes": 10, "in_chans": 1, "input_size": 32},
                                   reference_accuracy=0.1, reference_flops=ALPHA0_FLOPS))
    now = datetime.now(timezone.utc)
    rows = synthetic_trials(n, seed)
    engine, (searches, trials, evaluations) = tables(store)
    with engine.begin() as conn:  # bulk rows as plain SQL would write them: the store's API adds one at a time
        search_id = conn.execute(select(searches.c.id).where(searches.c.name == "bench")).scalar_one()
        conn.execute(insert(trials), [
            dict(search_id=search_id, number=i, config_key=c.key, configuration=json.dumps(c.to_json()),
                 flops_paper=r["flops"],
                 flops_all=int(r["flops"] * 1.03), param_count=272_474, status="complete",
                 accuracy=r["accuracy"], accuracy_stderr=binomial_stderr(r["accuracy"], 1000), n_evals=1,
                 is_uniform=len(set(r["alphas"].values())) <= 2, node="node-1", started_at=now, finished_at=now,
                 train_seconds=30.0, on_front=False)
            for i, (r, c) in enumerate(zip(rows, map(_configuration, rows), strict=True))
        ])
        ids = conn.execute(select(trials.c.id).where(trials.c.search_id == search_id).order_by(trials.c.number)).scalars().all()
        conn.execute(insert(evaluations), [
            dict(trial_id=tid, seed=i, budget="proxy", accuracy=r["accuracy"], n_val=1000,
                 stderr=binomial_stderr(r["accuracy"], 1000), train_seconds=30.0, node="node-1", created_at=now,
                 epoch_accuracies=json.dumps([0.5, 0.8, r["accuracy"]]))
            for i, (tid, r) in enumerate(zip(ids, rows, strict=True))
        ])
    engine.dispose()
    store.rebuild_front("bench")
    store.close()
    return time.perf_counter() - start


def _configuration(row: dict):
    from octsearch.configuration import Configuration

    alphas = tuple((k, float(v)) for k, v in row["alphas"].items())
    return Configuration(alphas, alphas, None)


def tables(store):
    """An engine of its own on the store's SQLite file, and the store's three tables as that
    database describes them (reflected: the bench writes and reads rows as plain SQL would)."""
    from sqlalchemy import MetaData, Table, create_engine

    engine = create_engine(store.database_url)
    meta = MetaData()
    return engine, [Table(f"octsearch_{t}", meta, autoload_with=engine) for t in ("searches", "trials", "evaluations")]


def front_on_read(store) -> list[int]:
    """What the maintained flags save: select every complete trial and sweep (for comparison)."""
    from sqlalchemy import select

    from octsearch.pareto import non_dominated

    engine, (_, trials, _) = tables(store)
    with engine.connect() as conn:
        rows = conn.execute(
            select(trials.c.number, trials.c.accuracy, trials.c.flops_paper).where(trials.c.status == "complete")
        ).all()
    engine.dispose()
    return sorted(rows[i][0] for i in non_dominated([r[1:] for r in rows], ["max", "min"]))


def write_costs(store, front, repeats: int) -> tuple[float, float]:
    """Median ms of start_trial + record_evaluation for a new configuration (front kept
    incrementally), and of a repeat seed of a front member (the box it dominated re-read). Adds rows."""
    from octsearch.configuration import Configuration

    rng = random.Random(1)
    new, repeat = [], []
    for i in range(repeats):
        alphas = {s: rng.random() * 0.99 for s in SLOTS}
        t0 = time.perf_counter()
        n = store.start_trial("bench", Configuration.from_json({"params": alphas, "alphas": alphas, "cost": {
            "flops_paper": 30_000_000, "flops_all": 31_000_000, "param_count": 272_474}}))
        store.record_evaluation("bench", n, seed=10**6 + i, accuracy=0.5, n_val=1000)
        new.append((time.perf_counter() - t0) * 1000)
    for i in range(min(repeats, 5)):
        member = front[(i * 37) % len(front)]
        t0 = time.perf_counter()
        store.record_evaluation("bench", member.number, seed=2 * 10**6 + i, accuracy=member.accuracy, n_val=1000)
        repeat.append((time.perf_counter() - t0) * 1000)
    return statistics.median(new), statistics.median(repeat)


# -- the pure-Python front and hypervolume octsearch used before moocore (for the comparison) --------


def python_non_dominated(points, directions) -> list[int]:
    """Indices of the non-dominated points (equal points all kept): a sort and a sweep (2-D), a
    scan against the front so far (more objectives)."""
    mins = [tuple(-v if d == "max" else v for v, d in zip(p, directions, strict=True)) for p in points]
    order = sorted(range(len(mins)), key=lambda i: mins[i])
    if len(directions) != 2:
        front: list[int] = []
        for i in order:
            if not any(all(x <= y for x, y in zip(mins[j], mins[i], strict=True)) and mins[j] != mins[i] for j in front):
                front.append(i)
        return sorted(front)
    kept, best_y, i = [], float("inf"), 0
    while i < len(order):
        x, group_y, j = mins[order[i]][0], mins[order[i]][1], i
        while j < len(order) and mins[order[j]][0] == x:
            if group_y < best_y and mins[order[j]][1] == group_y:
                kept.append(order[j])
            j += 1
        best_y, i = min(best_y, group_y), j
    return sorted(kept)


def python_hypervolume(points, reference, directions) -> float:
    """Exact hypervolume: a sweep (2-D), slices along the last objective (more)."""
    ref = tuple(-v if d == "max" else v for v, d in zip(reference, directions, strict=True))
    mins = [q for q in (tuple(-v if d == "max" else v for v, d in zip(p, directions, strict=True)) for p in points)
            if all(v < r for v, r in zip(q, ref, strict=True))]
    return _python_hv(mins, ref)


def _python_hv(points, ref) -> float:
    if not points:
        return 0.0
    if len(ref) == 1:
        return ref[0] - min(p[0] for p in points)
    if len(ref) == 2:
        volume, best_y, xs = 0.0, ref[1], sorted(points)
        for n, (x, y) in enumerate(xs):
            best_y = min(best_y, y)
            volume += ((xs[n + 1][0] if n + 1 < len(xs) else ref[0]) - x) * (ref[1] - best_y)
        return volume
    pts, volume = sorted(points, key=lambda p: p[-1]), 0.0
    for n, p in enumerate(pts):
        z_next = pts[n + 1][-1] if n + 1 < len(pts) else ref[-1]
        if z_next > p[-1]:
            below = [q[:-1] for q in pts[: n + 1]]
            keep = python_non_dominated(below, ["min"] * (len(ref) - 1))
            volume += _python_hv([below[i] for i in keep], ref[:-1]) * (z_next - p[-1])
    return volume


def side_by_side(store, repeats: int) -> dict[str, float]:
    """Median ms of the non-dominated sort and the hypervolume, moocore against pure Python,
    on every complete trial (accuracy max, FLOPs min) and on the front; results checked equal."""
    from sqlalchemy import select

    from octsearch import pareto as front

    engine, (_, trials, _) = tables(store)
    with engine.connect() as conn:
        points = [tuple(r) for r in conn.execute(
            select(trials.c.accuracy, trials.c.flops_paper).where(trials.c.status == "complete")).all()]
    engine.dispose()
    dirs, ref, n = ["max", "min"], (0.1, float(ALPHA0_FLOPS)), max(3, repeats // 4)
    out: dict[str, float] = {}
    for label, fn in (("moocore", front.non_dominated), ("python", python_non_dominated)):
        out[f"non_dominated_{label}_ms"], kept = median_ms(lambda fn=fn: fn(points, dirs), n)
        out.setdefault("front", kept)  # type: ignore[arg-type]
        assert kept == out["front"]
    members = [points[i] for i in out.pop("front")]  # type: ignore[union-attr]
    for what, pts in (("front", members), ("all", points)):
        for label, fn in (("moocore", front.hypervolume), ("python", python_hypervolume)):
            out[f"hypervolume_{what}_{label}_ms"], hv = median_ms(lambda fn=fn, pts=pts: fn(pts, ref, dirs), n)
            out.setdefault(f"hv_{what}", hv)  # type: ignore[arg-type]
            assert abs(hv - out[f"hv_{what}"]) <= 1e-12 * abs(hv)
        del out[f"hv_{what}"]
    return {k: round(v, 2) for k, v in out.items()}


def median_ms(fn, repeats: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times), result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=21)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--db", type=Path, help="SQLite file to (re)use; default: a temporary file")
    args = parser.parse_args(argv)

    from octsearch.store import open_store

    tmp = None
    db = args.db
    if db is None:
        tmp = tempfile.TemporaryDirectory()
        db = Path(tmp.name) / "front_read.db"
    if not db.exists():
        built = build(db, args.trials, args.seed)
        print(f"built {args.trials:,} trials (+ one evaluation each) in {built:.1f} s: {db} ({db.stat().st_size / 1e6:.0f} MB)")
    store = open_store(f"sqlite:///{db}")
    n_trials = store.get_search("bench").n_trials
    store.front("bench")  # warm the page cache once
    warm, front = median_ms(lambda: store.front("bench"), args.repeats)

    def cold():
        with open_store(f"sqlite:///{db}") as s:
            return s.front("bench")

    cold_ms, _ = median_ms(cold, args.repeats)
    hv_ms, _ = median_ms(lambda: store.hypervolume("bench"), args.repeats)
    on_read_ms, on_read = median_ms(lambda: front_on_read(store), max(3, args.repeats // 4))
    assert on_read == sorted(t.number for t in front)  # type: ignore[attr-defined]
    compared = side_by_side(store, args.repeats)
    new_ms, repeat_ms = write_costs(store, front, args.repeats)  # type: ignore[arg-type]
    store.close()
    report = {
        "trials": n_trials,
        "front_size": len(front),  # type: ignore[arg-type]
        "front_ms_median": round(warm, 2),
        "open_and_front_ms_median": round(cold_ms, 2),
        "hypervolume_ms_median": round(hv_ms, 2),
        "front_computed_on_read_ms_median": round(on_read_ms, 2),
        "write_new_trial_ms_median": round(new_ms, 2),
        "write_repeat_of_front_member_ms_median": round(repeat_ms, 2),
        **compared,
        "repeats": args.repeats,
        "target_ms": 100,
    }
    print(json.dumps(report))
    print(
        f"Store.front(): median {warm:.1f} ms over {args.repeats} reads of the {len(front)}-member front "  # type: ignore[arg-type]
        f"of {n_trials:,} trials (open_store + front: {cold_ms:.1f} ms; hypervolume: {hv_ms:.1f} ms; "
        f"computing it on read instead: {on_read_ms:.0f} ms); target < 100 ms"
    )
    c = compared
    print(f"non-dominated sort of all {n_trials:,} trials: moocore {c['non_dominated_moocore_ms']:.0f} ms, "
          f"pure Python {c['non_dominated_python_ms']:.0f} ms; hypervolume of the front: moocore "
          f"{c['hypervolume_front_moocore_ms']:.2f} ms, pure Python {c['hypervolume_front_python_ms']:.2f} ms; "
          f"of all trials: moocore {c['hypervolume_all_moocore_ms']:.0f} ms, pure Python {c['hypervolume_all_python_ms']:.0f} ms")
    print(f"writes at this size: a new trial {new_ms:.1f} ms, a repeat seed of a front member {repeat_ms:.0f} ms (the box it dominated is re-read)")
    print(f"reproduce: {Path(sys.executable).name} bench/front_read.py --trials {args.trials} --repeats {args.repeats} --seed {args.seed}")
    if tmp is not None:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
