"""Benchmark: can the proxy budget tell alpha allocations apart, and does it rank them as the full
budget does?

On a space (default: ``search_spaces/default.yaml``) a fixed sample of configurations (the
uniform-alpha points plus ``--random`` seeded random ones) is trained at the proxy budget with
``--proxy-seeds`` seeds and at the full budget (``budget.full``; ``--full-epochs`` overrides its
epochs) with ``--full-seeds`` seeds, as Ray tasks on a local Ray (``--concurrency`` at a time). It
prints, per budget, the noise floor (standard deviation of accuracy across seeds, pooled over
configurations), the spread of the configurations' means, a one-way ANOVA of "configuration"
against seed noise (F, p, intraclass correlation) and how well two seeds rank the configurations
alike (Kendall tau between single-seed accuracies, mean over seed pairs); then the Kendall tau
between proxy-mean and full-mean accuracy (with n) and how many proxy-front members stay on the
full-budget front. Accuracy: fraction of the validation split, shown in %; GFLOPs = 1e9
multiply-adds (convolutions + fully connected, the paper's convention) at batch 1.

Every finished run is appended to a JSON-lines file (``--out``); a rerun with the same options
trains only what is missing.

    python bench/proxy_fidelity.py --quick            # a few minutes
    python bench/proxy_fidelity.py                    # 12 configurations, ~10-15 min on 2 cores
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import random
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from octsearch.validate.agreement import front_survival, kendall_tau, pareto_keys, pooled_std
from octsearch.validate.selection import FULL_SEED_BASE, Job


@dataclass(frozen=True)
class Budget:
    label: str  # "proxy", "full" or "epochs=N"
    budget: str  # the space's "proxy" or "full" settings
    epochs: int | None  # overrides the epochs of those settings
    seeds: tuple[int, ...]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--space", default="default", help="a shipped space name or a YAML path (default: default)")
    p.add_argument("--random", type=int, default=7, help="seeded random configurations besides the uniform points")
    p.add_argument("--sample-seed", type=int, default=0, help="seed of the random configurations")
    p.add_argument("--proxy-seeds", type=int, default=3, help="seeds per configuration at the proxy budget")
    p.add_argument("--full-seeds", type=int, default=2, help="seeds per configuration at the full budget")
    p.add_argument("--full-epochs", type=int, help="epochs of the full budget (default: the space's budget.full)")
    p.add_argument("--concurrency", type=int, default=2, help="training runs at a time (Ray tasks)")
    p.add_argument("--quick", action="store_true",
                   help="a smoke run: 1 random configuration, 2 seeds per budget, full budget 4 epochs")
    p.add_argument("--out", help="JSON-lines file of the runs (default: under the temporary directory)")
    args = p.parse_args(argv)
    if args.quick:
        args.random, args.proxy_seeds, args.full_seeds = 1, 2, 2
        args.full_epochs = args.full_epochs or 4
    for name in ("proxy_seeds", "full_seeds", "concurrency"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} {getattr(args, name)} is not accepted; use an integer >= 1")
    if args.random < 0 or (args.full_epochs is not None and args.full_epochs < 1):
        p.error("--random must be >= 0 and --full-epochs >= 1")
    return args


def sample_configs(space: Any, n_random: int, seed: int) -> list[tuple[str, dict[str, float]]]:
    """The uniform points, then ``n_random`` distinct non-uniform configurations (seeded)."""
    uniform = space.uniform_configurations()
    out = [(f"uniform {c.uniform_alpha:g}", c.by_param) for c in uniform]
    seen = {tuple(sorted(c.items())) for _, c in out}
    rng = random.Random(seed)
    limit = space.num_configurations - len(seen)
    while len(out) - len(uniform) < min(n_random, limit):
        config = {p.name: rng.choice(p.choices) for p in space.params}
        key = tuple(sorted(config.items()))
        if key not in seen:
            seen.add(key)
            out.append(("random", config))
    return out


def command_line(args: argparse.Namespace) -> str:
    if args.quick:
        return f"python bench/proxy_fidelity.py --quick --space {args.space}"
    parts = ["python bench/proxy_fidelity.py", f"--space {args.space}", f"--random {args.random}",
             f"--sample-seed {args.sample_seed}", f"--proxy-seeds {args.proxy_seeds}", f"--full-seeds {args.full_seeds}"]
    if args.full_epochs:
        parts.append(f"--full-epochs {args.full_epochs}")
    return " ".join(parts)


def load_done(path: Path) -> dict[tuple[int, str, int], dict]:
    done: dict[tuple[int, str, int], dict] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            if line.strip():
                row = json.loads(line)
                done[(row["config"], row["label"], row["seed"])] = row
    return done


def run(args: argparse.Namespace) -> dict[tuple[int, str, int], dict]:
    from octsearch.search.cluster import ray_session, stop_on_sigint
    from octsearch.spaces import load_space
    from octsearch.validate.tasks import run_jobs, with_epochs

    space = load_space(args.space)
    configs = sample_configs(space, args.random, args.sample_seed)
    proxy = Budget("proxy", "proxy", None, tuple(range(space.budget("proxy").seed,
                                                       space.budget("proxy").seed + args.proxy_seeds)))
    full_label = "full" if args.full_epochs is None else f"epochs={args.full_epochs}"
    full = Budget(full_label, "full", args.full_epochs, tuple(range(FULL_SEED_BASE, FULL_SEED_BASE + args.full_seeds)))
    budgets = (proxy, full)
    epochs = {b.label: with_epochs(space, b.budget, b.epochs).budget(b.budget).epochs for b in budgets}
    # the file is named by what a run means, not by how many seeds: more seeds extend the same file
    key = json.dumps([space.hash, configs, [(b.label, b.budget, b.epochs) for b in budgets]], sort_keys=True)
    import hashlib

    out = Path(args.out) if args.out else (Path(tempfile.gettempdir()) / "octsearch-proxy-fidelity"
                                           / f"{space.name}-{hashlib.sha256(key.encode()).hexdigest()[:12]}.jsonl")
    out.parent.mkdir(parents=True, exist_ok=True)
    done = load_done(out)
    # longest runs first (full budget), seed-major: a stopped run still has one seed of everything
    jobs = [Job(i, space.configuration(c), s, b.label, b.budget, b.epochs)
            for b in reversed(budgets) for s in b.seeds for i, (_, c) in enumerate(configs)
            if (i, b.label, s) not in done]
    data = space.data.load()
    print(f"proxy fidelity on space {space.name!r} ({space.model_name} {space.spec.model.args}; {data.name} "
          f"{data.num_train} train / {data.num_val} validation images): {len(configs)} configurations "
          f"({len(space.uniform_configurations())} uniform, {len(configs) - len(space.uniform_configurations())} random, "
          f"sample seed {args.sample_seed})")
    print("budgets: " + "; ".join(f"{b.label} = {epochs[b.label]} epochs x {len(b.seeds)} seeds" for b in budgets)
          + f"; runs stored in {out} ({len(done)} already there, {len(jobs)} to train, "
          f"{args.concurrency} at a time on a local Ray)", flush=True)
    started = time.monotonic()
    if jobs:
        with out.open("a") as sink, ray_session(None), stop_on_sigint() as should_stop:
            count = {"n": 0}

            def on_outcome(o: Any) -> None:
                count["n"] += 1
                if o.result is None:
                    print(f"  [{count['n']}/{len(jobs)}] config {o.job.trial} {o.job.label} seed {o.job.seed}: "
                          f"FAILED {o.error}", flush=True)
                    return
                row = {"config": o.job.trial, "label": o.job.label, "seed": o.job.seed,
                       "accuracy": o.result.accuracy, "n_val": o.result.n_val,
                       "epoch_accuracies": list(o.result.epoch_accuracies), "train_seconds": o.result.train_seconds}
                sink.write(json.dumps(row) + "\n")
                sink.flush()
                done[(o.job.trial, o.job.label, o.job.seed)] = row
                print(f"  [{count['n']}/{len(jobs)}] config {o.job.trial} {o.job.label} seed {o.job.seed}: "
                      f"{100 * o.result.accuracy:.1f}% ({o.result.train_seconds:.0f} s, "
                      f"{time.monotonic() - started:.0f} s elapsed)", flush=True)

            counts = run_jobs(jobs, space, concurrency=args.concurrency, on_outcome=on_outcome,
                              should_stop=should_stop)
        if counts.stopped:
            print(f"interrupted: {counts.cancelled} run(s) not trained; rerun the same command to continue")
    flops = {i: space.with_cost(space.configuration(c)).counted.flops_paper for i, (_, c) in enumerate(configs)}
    report(args, space, configs, budgets, epochs, flops, done, time.monotonic() - started)
    return done


def anova(groups: list[list[float]]) -> tuple[float, float, float]:
    """One-way ANOVA of accuracy by configuration: (F, p, intraclass correlation ICC(1))."""
    from scipy.stats import f as f_dist

    groups = [g for g in groups if g]
    k, n = len(groups), sum(len(g) for g in groups)
    if k < 2 or n <= k:
        return math.nan, math.nan, math.nan
    grand = sum(sum(g) for g in groups) / n
    ssb = sum(len(g) * (statistics.fmean(g) - grand) ** 2 for g in groups)
    ssw = sum((v - statistics.fmean(g)) ** 2 for g in groups for v in g)
    msb, msw = ssb / (k - 1), ssw / (n - k)
    if msw == 0:
        return math.inf, 0.0, 1.0
    f = msb / msw
    m = n / k  # seeds per configuration (equal, or nearly)
    return f, float(f_dist.sf(f, k - 1, n - k)), (msb - msw) / (msb + (m - 1) * msw)


def seed_pair_tau(by_config: list[dict[int, float]], seeds: tuple[int, ...]) -> tuple[float, int]:
    """Mean Kendall tau between the accuracies of two seeds over the configurations that have both."""
    taus = []
    for a, b in itertools.combinations(seeds, 2):
        pairs = [(c[a], c[b]) for c in by_config if a in c and b in c]
        t = kendall_tau([p[0] for p in pairs], [p[1] for p in pairs]).tau
        if not math.isnan(t):
            taus.append(t)
    return (statistics.fmean(taus) if taus else math.nan), len(taus)


def report(args: argparse.Namespace, space: Any, configs: list, budgets: tuple[Budget, ...], epochs: dict[str, int],
           flops: dict[int, int], done: dict, wall: float) -> None:
    acc: dict[str, list[dict[int, float]]] = {
        b.label: [{s: done[(i, b.label, s)]["accuracy"] for s in b.seeds if (i, b.label, s) in done}
                  for i in range(len(configs))] for b in budgets}
    means = {b.label: {i: statistics.fmean(v.values()) for i, v in enumerate(acc[b.label]) if v} for b in budgets}
    proxy, full = budgets

    def cell(values: dict[int, float]) -> str:
        if not values:
            return "-"
        v = list(values.values())
        sd = f" ± {100 * statistics.stdev(v):.2f}" if len(v) > 1 else ""
        return f"{100 * statistics.fmean(v):.2f}{sd} ({len(v)})"

    print(f"\nper configuration: val acc % on {space.data.name}'s validation split, mean ± std across seeds "
          f"(seeds); GFLOPs = 1e9 multiply-adds, conv + fc, batch 1")
    alphas_head = "alphas (" + ", ".join(space.param_names) + ")"
    w = max(len(alphas_head), *(len(" ".join(f"{c[p]:g}" for p in space.param_names)) for _, c in configs))
    print(f"{'#':>2}  {'kind':<13} {alphas_head:<{w}}  {'GFLOPs':>7}  {proxy.label + ' ' + str(epochs[proxy.label]) + ' epochs':<20} "
          f"{full.label + ' ' + str(epochs[full.label]) + ' epochs'}")
    for i, (kind, c) in enumerate(configs):
        alphas = " ".join(f"{c[p]:g}" for p in space.param_names)
        print(f"{i:>2}  {kind:<13} {alphas:<{w}}  {flops[i] / 1e9:>7.4f}  {cell(acc[proxy.label][i]):<20} "
              f"{cell(acc[full.label][i])}")

    print("\nper budget (accuracy in points of val acc %):")
    for b in budgets:
        noise, groups = pooled_std(list(v.values()) for v in acc[b.label])
        spread = statistics.stdev(means[b.label].values()) if len(means[b.label]) > 1 else math.nan
        f, p, icc = anova([list(v.values()) for v in acc[b.label]])
        tau, n_pairs = seed_pair_tau(acc[b.label], b.seeds)
        print(f"  {b.label} ({epochs[b.label]} epochs, {len(b.seeds)} seeds): noise floor (std across seeds, pooled "
              f"over {groups} configurations) {100 * noise:.2f}; spread of configuration means (std) "
              f"{100 * spread:.2f}; configuration vs seed noise: ANOVA F = {f:.2f}, p = {p:.2g}, ICC = {icc:.2f}; "
              f"seed-vs-seed ranking agreement: Kendall tau {tau:.2f} (mean over {n_pairs} seed pair(s))")

    common = sorted(set(means[proxy.label]) & set(means[full.label]))
    t = kendall_tau([means[proxy.label][i] for i in common], [means[full.label][i] for i in common])
    print(f"\nKendall tau-b, {proxy.label} mean vs {full.label} mean accuracy: tau = {t.tau:.2f} "
          f"(n = {t.n} configurations, two-sided p = {t.p_value:.2g}, {t.method})")
    directions = ["max", "min"]
    proxy_points = {i: (means[proxy.label][i], flops[i]) for i in common}
    full_points = {i: (means[full.label][i], flops[i]) for i in common}
    s = front_survival(pareto_keys(proxy_points, directions), full_points, directions)
    print(f"front survival: {len(s.kept)} of {len(s.judged)} {proxy.label}-front members (configurations "
          f"{', '.join(map(str, s.judged))}) stay on the {full.label} front (configurations "
          f"{', '.join(map(str, s.front))})")
    uni = [i for i, (k, _) in enumerate(configs) if k.startswith("uniform") and i in common]
    for b in budgets:
        vals = [means[b.label][i] for i in uni]
        if vals:
            print(f"uniform-alpha curve at {b.label}: " + ", ".join(
                f"alpha {configs[i][1][space.param_names[0]]:g}: {100 * means[b.label][i]:.2f}%" for i in uni)
                + f" (range {100 * (max(vals) - min(vals)):.2f} points)")
    print(f"\nwall time of this invocation: {wall:.0f} s")
    print(f"reproduce: {command_line(args)}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    run(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
