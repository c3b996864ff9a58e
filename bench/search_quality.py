"""Which sampler finds the true front soonest: searches replayed on a table, scored on the table.

For each strategy (a sampler, optionally with its arguments), with and without repeat seeds, over
several sampler seeds, a search is replayed (`octsearch launch SPACE --replay TABLE`, in simulated
time: the sampler sees the table's single-seed runs) and its evaluations scored with a *truth* per
configuration (a lucky seed earns nothing): `--truth model` (default), the pooled model's predicted
accuracy, or `--truth means`, the table's mean over its seeds (octsearch/tables/truth.py). The
report opens with the noise it stands on: the table's seed-to-seed Kendall tau, the smallest
effect its pooled model detects, and what the truth resolves (octsearch/tables/resolution.py).
Reported, median [IQR] over the seeds: the share of the true front hypervolume reached after a
given number of evaluations, the evaluations needed to reach 95% and 99% of it, the accuracy
regret (points of validation accuracy below the truth's best) at three FLOPs budgets, and each
strategy against random sampling (Mann-Whitney U over the sampler seeds: a difference inside
their spread is no win) and against the target (99% of the true hypervolume within 10% of the
table's configurations). The replays are written to a copy of the table's database in a temporary
folder; the shipped table is never changed.

    python bench/search_quality.py --table mnist81                  # the shipped table
    python bench/search_quality.py --table mnist81 --truth means     # scored on the seed means
    python bench/search_quality.py --table mnist81 --samplers nsga2,random --seeds 3 --quick
    python bench/search_quality.py --samplers nsga2:population_size=4,tpe:n_startup_trials=4+multivariate=false

A strategy is `SAMPLER` (the space's arguments when it is the space's sampler, else ours) or
`SAMPLER:KEY=VALUE+KEY=VALUE` (exactly these arguments).
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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import machine, table  # noqa: E402
from _noise import TRUTH_TEXT, noise_lines  # noqa: E402

TABLES = Path(__file__).resolve().parent / "tables"
SAMPLERS = ("nsga2", "nsga3", "tpe", "gp", "random", "qmc")
FLOPS_QUANTILES = (0.25, 0.5, 0.75)  # the regret's FLOPs budgets, as quantiles of the table's FLOPs
TARGET_SHARE, TARGET_FRACTION = 0.99, 0.10  # the target: 99% of the true HV in 10% of the table
SIGNIFICANCE = 0.05  # two-sided Mann-Whitney U over the sampler seeds, against random sampling


@dataclass(frozen=True)
class Strategy:
    sampler: str
    args: dict[str, Any] | None = None  # None: the space's (or ours for another sampler)

    @property
    def label(self) -> str:
        if self.args is None:
            return self.sampler
        return f"{self.sampler}:" + "+".join(f"{k}={v}" for k, v in self.args.items())


def parse_strategy(text: str) -> Strategy:
    """``nsga2`` or ``nsga2:population_size=4+seed=1`` (values: integers, numbers, true/false)."""
    sampler, _, rest = text.partition(":")
    if not rest:
        return Strategy(sampler)
    args = {}
    for item in rest.split("+"):
        key, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"strategy {text!r}: {item!r} is not KEY=VALUE")
        args[key] = _value(value)
    return Strategy(sampler, args)


def _value(text: str) -> Any:
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


@dataclass
class Outcome:
    """One strategy at one repeats setting, over the sampler seeds."""

    strategy: Strategy
    repeats: int
    trajectories: list[list[float]] = field(default_factory=list)
    regrets: dict[float, list[float]] = field(default_factory=dict)
    walls: list[float] = field(default_factory=list)  # wall seconds per replay
    cpus: list[float] = field(default_factory=list)  # CPU seconds of this process per replay

    def shares_at(self, n: int) -> list[float]:
        return [t[min(n, len(t)) - 1] for t in self.trajectories]

    def reach(self, share: float, cap: int) -> list[int]:
        """Evaluations to reach ``share`` per seed; a replay that never did counts as cap + 1."""
        from octsearch.tables.quality import evaluations_to_reach

        return [evaluations_to_reach(t, share) or cap + 1 for t in self.trajectories]


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--table", default="mnist81", help="the table's name (default mnist81)")
    p.add_argument("--db", help="the table's store (default: sqlite:///bench/tables/TABLE.db)")
    p.add_argument("--truth", choices=("model", "means"), default="model",
                   help="what a configuration scores: the pooled model's prediction (default) or the seed mean")
    p.add_argument("--samplers", default=",".join(SAMPLERS),
                   help="comma-separated strategies, SAMPLER[:KEY=VALUE+...] (default: the six samplers)")
    p.add_argument("--seeds", type=int, default=5, help="sampler seeds per strategy (default 5)")
    p.add_argument("--share", type=float, default=0.5,
                   help="evaluations per replay as a share of the table's configurations (default 0.5)")
    p.add_argument("--repeats", default="0,1", help="repeat seeds per front candidate to compare (default 0,1)")
    p.add_argument("--concurrency", type=int, help="simulated workers per replay (default: the space's)")
    p.add_argument("--out", help="also write the report to this markdown file")
    p.add_argument("--quick", action="store_true", help="2 seeds, a quarter of the table: a smoke run")
    args = p.parse_args()
    if args.quick:
        args.seeds, args.share = 2, 0.25
    return args


def replay(bench: Bench, strategy: Strategy, repeats: int, seed: int) -> str:
    from octsearch.search.launch import LaunchOptions, launch

    name = f"{strategy.label}-r{repeats}-s{seed}"
    launch(LaunchOptions(space=str(bench.space_file), name=name, trials=bench.trials, sampler=strategy.sampler,
                         seed=seed, repeats=repeats, db=bench.db, replay=bench.args.table,
                         sampler_args=strategy.args, concurrency=bench.args.concurrency))
    return name


def quantiles(values: list[float]) -> tuple[float, float, float]:
    if len(values) == 1:
        return values[0], values[0], values[0]
    q = statistics.quantiles(values, n=4, method="inclusive")
    return q[1], q[0], q[2]


def fmt(values: list[float], scale: float = 1.0, digits: int = 1) -> str:
    med, lo, hi = (v * scale for v in quantiles(values))
    return f"{med:.{digits}f} [{lo:.{digits}f}-{hi:.{digits}f}]"


def fmt_reach(values: list[int], cap: int) -> str:
    """Median [IQR] of evaluations to reach a share; '>cap' where a replay never reached it."""
    shown = [f">{cap}" if x > cap else f"{x:g}" for x in quantiles([float(v) for v in values])]
    return f"{shown[0]} [{shown[1]}-{shown[2]}]"


class Bench:
    """The replays of every strategy on one table, and their scores."""

    def __init__(self, args: argparse.Namespace) -> None:
        from octsearch.store import open_store
        from octsearch.tables.lookup import Table
        from octsearch.tables.quality import TableScore
        from octsearch.tables.truth import truth_of

        source = Path(args.db.removeprefix("sqlite:///")) if args.db else TABLES / f"{args.table}.db"
        self.work = Path(tempfile.mkdtemp(prefix="octsearch-quality-"))
        shutil.copy(source, self.work / "replays.db")
        self.db = f"sqlite:///{self.work / 'replays.db'}"
        self.store = open_store(self.db)
        self.table = Table(self.store, args.table)
        self.score = TableScore(self.table, truth_of(args.truth, self.store, args.table))
        self.noise = noise_lines(self.store, args.table, args.truth)
        self.space_file = self.work / f"{args.table}.yaml"
        self.space_file.write_text(self.table.record.space_text)  # the same text: the table's space hash
        self.args, self.n_configs = args, len(self.table)
        self.trials = max(4, round(args.share * self.n_configs))
        self.target = max(1, round(TARGET_FRACTION * self.n_configs))
        checkpoints = {max(1, round(f * self.n_configs)) for f in (0.05, 0.1, 0.2, 0.3, 0.5)} | {self.trials}
        self.checkpoints = sorted(c for c in checkpoints if c <= self.trials)
        self.budgets = self.score.flops_quantiles(FLOPS_QUANTILES)

    def run(self, strategy: Strategy, repeats: int) -> Outcome:
        from octsearch.tables.quality import evaluated_in_order, share_trajectory

        out = Outcome(strategy, repeats, regrets={b: [] for b in self.budgets})
        for seed in range(self.args.seeds):
            t0, c0 = time.monotonic(), time.process_time()
            name = replay(self, strategy, repeats, seed)
            out.walls.append(time.monotonic() - t0)
            out.cpus.append(time.process_time() - c0)
            keys = evaluated_in_order(self.store, name)
            out.trajectories.append(share_trajectory(self.score, keys))
            for b in self.budgets:
                out.regrets[b].append(self.score.regret(set(keys), b))
        return out

    def row(self, o: Outcome) -> list[str]:
        return [o.strategy.label, str(o.repeats), *(fmt(o.shares_at(c), 100) for c in self.checkpoints),
                fmt_reach(o.reach(0.95, self.trials), self.trials), fmt_reach(o.reach(0.99, self.trials), self.trials),
                *(fmt(o.regrets[b], 100, 2) for b in self.budgets), fmt(o.walls), fmt(o.cpus)]

    def verdict(self, o: Outcome, random_of: dict[int, Outcome]) -> str:
        """Against the target (median over the seeds) and against random sampling at the same
        repeats: a difference counts only where Mann-Whitney U over the seeds has p < 0.05."""
        reach99 = statistics.median(o.reach(TARGET_SHARE, self.trials))
        line = (f"{o.strategy.label} repeats {o.repeats}: 99% of the true HV after {reach99:g} evaluations "
                f"(median; target <= {self.target}): {'met' if reach99 <= self.target else 'not met'}")
        rival = random_of.get(o.repeats)
        if rival is None or rival is o:
            return line
        shares = [versus(o.shares_at(c), rival.shares_at(c)) for c in self.checkpoints]
        sooner, p = versus(rival.reach(TARGET_SHARE, self.trials), o.reach(TARGET_SHARE, self.trials))
        regrets = [versus(rival.regrets[b], o.regrets[b]) for b in self.budgets]
        return (f"{line}; against random (repeats {o.repeats}; Mann-Whitney U over the seeds, p < {SIGNIFICANCE}): "
                f"HV share {counts(shares, 'higher', 'lower')} of {len(shares)} evaluation budgets; 99% reached "
                f"{['later', 'inside the seed spread', 'sooner'][sooner + 1]} (p {p:.3f}); regret "
                f"{counts(regrets, 'lower', 'higher')} of {len(regrets)} FLOPs budgets")

    def header(self) -> list[str]:
        n_runs = sum(len(self.table.runs(t.configuration)) for t in self.table.trials.values())
        from octsearch.tables.quality import uniform_keys

        workers = self.args.concurrency or "the space's"

        return [f"table {self.args.table!r}: {self.n_configs} configurations, {n_runs} runs; scored on truth "
                f"'{self.args.truth}': true front hypervolume {self.score.true_hypervolume:.5f} (accuracy x share of "
                f"alpha-0 FLOPs saved); the uniform-alpha configurations alone reach "
                f"{100 * self.score.share(uniform_keys(self.table)):.1f}% of it", *self.noise,
                f"each replay: {self.trials} trials ({self.args.share:.0%} of the table); {self.args.seeds} sampler "
                f"seeds per strategy; {workers} concurrent simulated workers"]

    def legend(self) -> str:
        return (f"HV% @n: share of the true front's hypervolume under the truth (%) after n evaluations (training runs, repeat "
                f"seeds included), median [interquartile range] over {self.args.seeds} sampler seeds (0 to "
                f"{self.args.seeds - 1}); every configuration scored with {TRUTH_TEXT[self.args.truth]}. Evals to 95%/99%: evaluations until the share first reaches it ('>{self.trials}': not "
                f"within the replay). Regret: points of validation accuracy below the truth's best configuration "
                f"with no more FLOPs than the budget (GF = 1e9 multiply-adds, {self.table.record.flops_key} "
                f"convention; the 25/50/75% quantiles of the table's FLOPs), after {self.trials} trials. Wall s, CPU s: "
                f"seconds of wall time and of this process's CPU time per replay (median [IQR]), on this machine "
                f"(load average {os.getloadavg()[0]:.1f} at the end).")


def versus(mine: list[float], theirs: list[float]) -> tuple[int, float]:
    """+1 where ``mine`` runs higher than ``theirs`` at p < SIGNIFICANCE (two-sided Mann-Whitney U),
    -1 lower, 0 inside the seed spread; and the p value."""
    from scipy.stats import mannwhitneyu

    p = float(mannwhitneyu(mine, theirs, alternative="two-sided").pvalue)
    if not p < SIGNIFICANCE:  # nan (identical samples) included
        return 0, 1.0 if p != p else p
    return (1 if statistics.median(mine) > statistics.median(theirs) else -1), p


def counts(sides: list[tuple[int, float]], up: str, down: str) -> str:
    n = [sum(side == k for side, _ in sides) for k in (1, -1, 0)]
    return f"{up} at {n[0]}, {down} at {n[1]}, inside the seed spread at {n[2]}"


def main() -> int:
    args = parse_args()
    bench = Bench(args)
    lines = bench.header()
    print("\n".join(lines) + "\n", flush=True)
    outcomes, started = [], time.monotonic()
    for strategy in (parse_strategy(s) for s in args.samplers.split(",")):
        for repeats in (int(r) for r in args.repeats.split(",")):
            outcomes.append(bench.run(strategy, repeats))
            print(f"  {' | '.join(bench.row(outcomes[-1]))}", flush=True)  # so far, in the table's columns
    headers = ["strategy", "repeats", *(f"HV% @{c}" for c in bench.checkpoints), "evals to 95%", "evals to 99%",
               *(f"regret pts @{b / 1e9:.4f} GF" for b in bench.budgets), "wall s", "CPU s"]
    random_of = {o.repeats: o for o in outcomes if o.strategy == Strategy("random")}
    report = [*lines, "", table(headers, [bench.row(o) for o in outcomes]), "", bench.legend(), "",
              *(bench.verdict(o, random_of) for o in outcomes), "",
              f"total {time.monotonic() - started:.0f} s wall, finished {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"
              f" on {machine()}; replays kept in {bench.work}",
              f"command: python {shlex.join([os.path.relpath(sys.argv[0]), *sys.argv[1:]])}"]
    print("\n" + "\n".join(report[len(lines) + 1:]))
    if args.out:
        Path(args.out).write_text("```text\n" + "\n".join(report) + "\n```\n")
    bench.store.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
