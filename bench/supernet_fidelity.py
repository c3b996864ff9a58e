"""Benchmark: does one weight-sharing supernet rank a table's configurations as well as training
each of them once, and at what cost? (issue 24)

For each variant (``--variant epochs=E,random=K,distill=0|1[,seed=S][,layout=channels_last|contiguous]``;
seed: the supernet's, 0 by default; layout: the memory layout it trains and scores in, the space's
``budget.channels_last`` by default): train the table's space's supernet
once (sandwich rule), score every configuration with each batch-norm handling (``switchable``:
the statistics kept per slot alpha in training; ``recalibrate``: recomputed per configuration on
``--calibration-images`` training images), then print

- cost: supernet training + scoring time against stand-alone proxy trials (``run_trial``, training +
  validation) timed in the same run, in units of one stand-alone trial: in CPU time of the process
  (one torch thread on each side: what a shared machine's load does not move) and in wall time;
- fidelity: Kendall tau-b of supernet accuracy against the table's mean accuracy (all seeds), and
  against the mean of every pair of seeds (the like-for-like partner of the baseline); the baseline
  is leave-one-seed-out: one stand-alone seed against the mean of the other seeds; tau within
  FLOPs tertiles (FLOPs alone orders much of a table);
- conclusions: the pooled model (octsearch.analysis) fit on the table's evaluations and on the
  supernet's scores (stored at budget ``supernet`` in a scratch store): which effects the table
  resolves (Holm p < 0.05) and whether the supernet finds each with the same sign.

``--search-check K`` (screen and confirm, ``launch --evaluator supernet --confirm K``): for each of
``--search-seeds`` supernet seeds, the supernet at the launch's defaults (EPOCHS_FACTOR x the proxy's epochs,
sandwich of 2 random, recalibrated) scores every configuration, ``choose_confirmations`` picks K
(the uniform points, then the supernet's Pareto layers), and the confirmation is answered from the
table as ``--replay`` would (the table's run of one seed per configuration: seed index = supernet
seed mod the table's seeds): the share of the table's true front hypervolume the K confirmed
configurations reach, scored under the table's truth (``means`` and ``model``: a lucky seed earns
nothing), median over the seeds; beside it the uniform points alone and the uniform points plus
random picks (median of 200 draws), and the Kendall tau-b the launch's report would print (supernet
score vs the replayed stand-alone run, over the K).

Units: accuracy in points of validation accuracy (percent of the table's validation split);
FLOPs: multiply-adds at batch 1, conv + fc (the paper's convention); seconds of wall time.

    python bench/supernet_fidelity.py --table mnist81 [--db bench/tables/mnist81.db]
        [--variant epochs=3,random=2,distill=0 ...] [--standalone 2] [--out bench/results/supernet_fidelity_mnist81.md]
    python bench/supernet_fidelity.py --table mnist81 --search-check 8 [--search-seeds 5]
        [--out bench/results/supernet_confirm_mnist81.md]
    python bench/supernet_fidelity.py --cost-only search_spaces/default.yaml [--standalone 2]
        [--out bench/results/supernet_cost_default.md]

``--cost-only SPACE``: no table; the supernet at the launch's defaults (EPOCHS_FACTOR x the proxy's epochs,
sandwich of 2 random, recalibrated on ``--calibration-images``) trains on SPACE and scores every
configuration of it; CPU seconds of each part against ``--standalone`` stand-alone proxy trials of
SPACE (spread over FLOPs) timed in the same run; the issue's target is at most one twentieth of a
stand-alone trial per configuration.
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from _common import command_line, machine, reexec_with_fixed_env  # noqa: E402


@dataclass(frozen=True)
class Truth:
    """The table: its configurations (cost attached), per-seed accuracies (points) and FLOPs."""

    configurations: list
    seeds: list[int]
    runs: list[list[float]]  # runs[i][s]: configuration i, seed s
    flops: list[int]

    def mean(self, seeds: list[int] | None = None) -> list[float]:
        chosen = [self.seeds.index(s) for s in (seeds or self.seeds)]
        return [statistics.fmean(r[j] for j in chosen) for r in self.runs]


def read_table(db: str, name: str, space_path: str):  # noqa: ANN201
    from octsearch.spaces import load_space
    from octsearch.store import open_store
    from octsearch.tables.lookup import Table

    space = load_space(space_path)
    with open_store(f"sqlite:///{db}", create=False, upgrade=False) as store:
        table = Table(store, name)
        configurations = [t.configuration for t in sorted(table.trials.values(), key=lambda t: t.number)]
        runs = [[100 * r.accuracy for r in table.runs(c)] for c in configurations]
        seeds = [r.seed for r in table.runs(configurations[0])]
        flops = [int(getattr(table.trials[c.key], table.record.flops_key)) for c in configurations]
        effects = _table_effects(store, name)
    keep = [i for i, r in enumerate(runs) if len(r) == len(seeds)]
    return space, Truth([configurations[i] for i in keep], seeds, [runs[i] for i in keep],
                        [flops[i] for i in keep]), effects


def _table_effects(store, name: str):  # noqa: ANN001, ANN202
    from octsearch.analysis import search_effects

    return search_effects(store, name, "proxy").effects


def tau(a: list[float], b: list[float]) -> float:
    from scipy.stats import kendalltau

    return float(kendalltau(a, b).statistic)


def tertiles(flops: list[int]) -> list[list[int]]:
    """Indices of the configurations in each FLOPs tertile, cheapest first."""
    order = sorted(range(len(flops)), key=lambda i: flops[i])
    n = len(order)
    return [order[k * n // 3:(k + 1) * n // 3] for k in range(3)]


def binned_tau(a: list[float], b: list[float], bins: list[list[int]]) -> list[float]:
    return [tau([a[i] for i in idx], [b[i] for i in idx]) for idx in bins]


def baseline(truth: Truth, bins: list[list[int]]) -> dict:
    """Leave-one-seed-out: each seed against the mean of the others (tau overall and per tertile)."""
    overall, per_bin = [], []
    for s in truth.seeds:
        one = [r[truth.seeds.index(s)] for r in truth.runs]
        rest = truth.mean([o for o in truth.seeds if o != s])
        overall.append(tau(one, rest))
        per_bin.append(binned_tau(one, rest, bins))
    sd = statistics.fmean(statistics.stdev(r) ** 2 for r in truth.runs) ** 0.5
    return {"taus": overall, "bins": [statistics.fmean(b[k] for b in per_bin) for k in range(3)], "seed_sd": sd,
            "pair_taus": [tau([r[i] for r in truth.runs], [r[j] for r in truth.runs])
                          for i, j in itertools.combinations(range(len(truth.seeds)), 2)]}


def standalone_seconds(space, truth: Truth, n: int) -> list[tuple[float, float]]:  # noqa: ANN001
    """(wall, CPU) seconds of ``n`` stand-alone proxy trials (training + validation), spread over FLOPs."""
    import torch

    from octsearch.trial import run_trial

    picks = [truth.configurations[i] for i in sorted(range(len(truth.flops)), key=lambda i: truth.flops[i])]
    picks = [picks[round(k * (len(picks) - 1) / max(1, n - 1))] for k in range(n)]
    out = []
    for configuration in picks:
        start, cpu = time.perf_counter(), time.process_time()
        run_trial(space, configuration, device=torch.device("cpu"), evaluate_every_epoch=False)
        out.append((time.perf_counter() - start, time.process_time() - cpu))
    return out


def supernet_effects(space, scores_by_seed: dict) -> list:  # noqa: ANN001
    """The pooled model fit on the supernet's scores (``seed -> SupernetScore list``; each supernet
    seed a block, as a table's seeds are), stored at budget 'supernet' in a scratch store."""
    from octsearch.analysis import search_effects
    from octsearch.store import open_store
    from octsearch.supernet.record import record_scores, register_supernet_search
    from octsearch.supernet.settings import SUPERNET_BUDGET

    with tempfile.TemporaryDirectory() as tmp, open_store(f"sqlite:///{tmp}/sn.db") as store:
        register_supernet_search(store, space, "supernet", 0)
        for seed, scores in scores_by_seed.items():
            record_scores(store, space, "supernet", scores, seed)
        return search_effects(store, "supernet", SUPERNET_BUDGET).effects


def train_timed(space, settings):  # noqa: ANN001, ANN201
    """The supernet trained on the CPU, with the (wall, CPU) seconds it took."""
    import torch

    from octsearch.supernet.training import train_supernet

    start, cpu_start = time.perf_counter(), time.process_time()
    trained = train_supernet(space, settings, device=torch.device("cpu"))
    return trained, time.perf_counter() - start, time.process_time() - cpu_start


def score_timed(space, supernet, configurations, scorings: list) -> list[tuple[list, float, float]]:  # noqa: ANN001
    """For each scoring (``EvaluationSettings``): every configuration's ``SupernetScore`` and the
    (wall, CPU) seconds of scoring them; the space's readers are built once for all."""
    import torch

    from octsearch.supernet.evaluate import readers, score_configurations
    from octsearch.trial.recipe import kernel_settings, recipe_for

    cpu, out = torch.device("cpu"), []
    with kernel_settings(space.budget("proxy").threads, cpu, True):
        train, val = readers(space, cpu)
        for scoring in scorings:
            start, cpu_start = time.perf_counter(), time.process_time()
            scores = score_configurations(supernet, configurations, scoring, train, val, recipe_for(cpu))
            out.append((scores, time.perf_counter() - start, time.process_time() - cpu_start))
    return out


def with_layout(space, layout: str | None):  # noqa: ANN001, ANN201
    """``space`` with its budget's ``channels_last`` set to ``layout`` (None: as it is)."""
    if layout is None or space.budget("proxy").channels_last == (layout == "channels_last"):
        return space
    from octsearch.spaces import space_from_text

    now, wanted = [f"channels_last: {str(v).lower()}" for v in (layout != "channels_last", layout == "channels_last")]
    text = space.text.replace(now, wanted)
    if text == space.text:
        raise SystemExit(f"--variant layout={layout}: the space file does not state `{now}` to change; accepted: "
                         "a space file that states budget.channels_last")
    return space_from_text(text, space.name, space.path)


def run_variant(space, truth: Truth, variant: dict, calibration: int, modes: list[str]):  # noqa: ANN001, ANN201
    from octsearch.supernet.settings import EvaluationSettings, SandwichRule, SupernetSettings

    settings = SupernetSettings(variant["epochs"], SandwichRule(variant["random"], bool(variant["distill"])),
                                seed=variant["seed"])
    space = with_layout(space, variant["layout"])  # the table's file is unchanged
    trained, train_seconds, train_cpu = train_timed(space, settings)
    scored = score_timed(space, trained.supernet, truth.configurations,
                         [EvaluationSettings(bn, calibration) for bn in modes])
    return {"train_seconds": train_seconds, "train_cpu": train_cpu, **dict(zip(modes, scored, strict=True))}


def fidelity_lines(truth: Truth, accuracy: list[float], bins: list[list[int]], base: dict) -> list[str]:
    pairs = [tau(accuracy, truth.mean(list(p))) for p in itertools.combinations(truth.seeds, len(truth.seeds) - 1)]
    by_bin = binned_tau(accuracy, truth.mean(), bins)
    return [
        f"  Kendall tau vs the table's mean of {len(truth.seeds)} seeds: {tau(accuracy, truth.mean()):+.3f}; vs the "
        f"mean of {len(truth.seeds) - 1} seeds: {statistics.fmean(pairs):+.3f} (each: "
        f"{', '.join(f'{t:+.3f}' for t in pairs)}); baseline, one stand-alone seed vs the mean of the others: "
        f"{statistics.fmean(base['taus']):+.3f} ({', '.join(f'{t:+.3f}' for t in base['taus'])})",
        f"  tau within FLOPs tertiles (cheapest first): supernet {', '.join(f'{t:+.3f}' for t in by_bin)}; "
        f"baseline (mean over left-out seeds) {', '.join(f'{t:+.3f}' for t in base['bins'])}",
        f"  supernet accuracy: mean {statistics.fmean(accuracy):.2f}, range {min(accuracy):.2f} to {max(accuracy):.2f} "
        f"points (table means: {statistics.fmean(truth.mean()):.2f}, {min(truth.mean()):.2f} to "
        f"{max(truth.mean()):.2f}); tau of supernet accuracy vs FLOPs {tau(accuracy, truth.flops):+.3f}, "
        f"of the table's means vs FLOPs {tau(truth.mean(), truth.flops):+.3f}",
    ]


def extreme_line(truth: Truth, accuracy: list[float]) -> str:
    """Where the two configurations every sandwich step trains land among the supernet's scores."""
    order = sorted(range(len(accuracy)), key=lambda i: -accuracy[i])
    big, small = max(range(len(truth.flops)), key=lambda i: truth.flops[i]), min(range(len(truth.flops)),
                                                                                  key=lambda i: truth.flops[i])
    return (f"  the sandwich's fixed members (trained every step): largest FLOPs scores {accuracy[big]:.2f} points "
            f"(rank {order.index(big) + 1} of {len(order)}; table rank "
            f"{sorted(range(len(order)), key=lambda i: -truth.mean()[i]).index(big) + 1}), smallest {accuracy[small]:.2f} "
            f"(rank {order.index(small) + 1}; table rank "
            f"{sorted(range(len(order)), key=lambda i: -truth.mean()[i]).index(small) + 1})")


def effect_lines(table_effects, found) -> list[str]:  # noqa: ANN001
    by = {(e.parameter, e.alpha): e for e in found}
    resolved = [e for e in table_effects if e.p_holm < 0.05]
    lines = [f"  the table resolves {len(resolved)} of {len(table_effects)} effects (Holm p < 0.05)"]
    for e in resolved:
        s = by.get((e.parameter, e.alpha))
        same = s is not None and (s.estimate > 0) == (e.estimate > 0)
        lines.append(f"    {e.parameter} alpha {e.alpha:g}: table {e.estimate:+.2f} +/- {e.se:.2f} (Holm p {e.p_holm:.3f}); "
                     f"supernet {s.estimate:+.2f} +/- {s.se:.2f} (Holm p {s.p_holm:.3f}): "
                     f"{'same sign' if same else 'OPPOSITE sign'}{', resolved' if s.p_holm < 0.05 else ', not resolved'}")
    extra = [s for s in found if s.p_holm < 0.05 and (s.parameter, s.alpha) not in {(e.parameter, e.alpha) for e in resolved}]
    for s in extra:
        lines.append(f"    supernet only: {s.parameter} alpha {s.alpha:g} {s.estimate:+.2f} +/- {s.se:.2f} (Holm p {s.p_holm:.3f})")
    return lines


def parse_variant(text: str) -> dict:
    values = dict(part.split("=", 1) for part in text.split(","))
    layout = values.get("layout")
    if layout not in (None, "channels_last", "contiguous"):
        raise SystemExit(f"--variant layout={layout}; accepted: channels_last or contiguous")
    return {"epochs": int(values.get("epochs", 3)), "random": int(values.get("random", 2)),
            "distill": int(values.get("distill", 0)), "seed": int(values.get("seed", 0)), "layout": layout}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", default="mnist81")
    parser.add_argument("--db", default=str(ROOT / "bench/tables/mnist81.db"))
    parser.add_argument("--space", default=str(ROOT / "bench/tables/mnist81.yaml"))
    parser.add_argument("--variant", action="append", help="epochs=E,random=K,distill=0|1 (repeatable)")
    parser.add_argument("--calibration-images", type=int, default=250)
    parser.add_argument("--standalone", type=int, default=2, help="stand-alone proxy trials timed beside it")
    parser.add_argument("--bn", nargs="+", default=["switchable", "recalibrate"], help="batch-norm handlings scored")
    parser.add_argument("--out", help="markdown file for the results")
    parser.add_argument("--search-check", type=int, metavar="K", help="screen and confirm with K confirmations")
    parser.add_argument("--search-seeds", type=int, default=5, metavar="N", help="supernet seeds of --search-check")
    parser.add_argument("--scores-cache", metavar="FILE.json", help="--search-check: supernet scores by seed, reused")
    parser.add_argument("--cost-only", metavar="SPACE", help="cost of ranking every configuration of SPACE (no table)")
    args = parser.parse_args()
    reexec_with_fixed_env()
    if args.cost_only:
        cost_only(args)
        return
    if args.search_check:
        search_check(args)
        return
    variants = [parse_variant(v) for v in (args.variant or ["epochs=3,random=2,distill=0"])]
    lines = [f"command: {command_line()}", f"machine: {machine()}"]
    space, truth, table_effects = read_table(args.db, args.table, args.space)
    bins = tertiles(truth.flops)
    base = baseline(truth, bins)
    lines.append(f"table {args.table}: {len(truth.configurations)} configurations x {len(truth.seeds)} seeds; noise: "
                 f"seed SD {base['seed_sd']:.2f} points, seed-to-seed Kendall tau "
                 f"{', '.join(f'{t:+.3f}' for t in base['pair_taus'])} (each pair of seeds)")
    _emit(lines, args.out)
    for variant in variants:
        standalone = standalone_seconds(space, truth, args.standalone)
        one, one_cpu = statistics.fmean(w for w, _ in standalone), statistics.fmean(c for _, c in standalone)
        result = run_variant(space, truth, variant, args.calibration_images, args.bn)
        lines.append(f"variant {variant} (calibration: {args.calibration_images} training images): supernet training "
                     f"{result['train_seconds']:.0f} s wall, {result['train_cpu']:.0f} s CPU; stand-alone proxy trials "
                     f"timed beside it: {', '.join(f'{w:.0f} s wall / {c:.0f} s CPU' for w, c in standalone)} "
                     f"(1 trial = their mean)")
        for bn in args.bn:
            scores, seconds, cpu_seconds = result[bn]
            total, total_cpu = result["train_seconds"] + seconds, result["train_cpu"] + cpu_seconds
            lines.append(f" batch norm {bn}: scoring {len(scores)} configurations {seconds:.0f} s wall, {cpu_seconds:.0f} s "
                         f"CPU; training + scoring = {total_cpu / one_cpu:.1f} stand-alone trials in CPU time "
                         f"({total / one:.1f} in wall time, which the machine's load moves; target: at most 10)")
            accuracy = [100 * s.accuracy for s in scores]
            lines += [*fidelity_lines(truth, accuracy, bins, base), extreme_line(truth, accuracy)]
            lines += effect_lines(table_effects, supernet_effects(space, {0: scores}))
            _emit(lines, args.out)


def cost_only(args: argparse.Namespace) -> None:
    """Supernet training + scoring of every configuration of a space vs stand-alone trials, CPU seconds."""
    from octsearch.spaces import load_space
    from octsearch.spaces.remaining import every_configuration
    from octsearch.supernet.settings import EvaluationSettings, default_settings

    space = load_space(args.cost_only)
    configurations = every_configuration(space)
    flops = [space.flops(c) for c in configurations]
    lines = [f"command: {command_line()}", f"machine: {machine()}",
             f"space {space.name}: {len(configurations)} configurations; proxy {space.budget('proxy').epochs} epochs"]
    _emit(lines, args.out)
    standalone = standalone_seconds(space, Truth(configurations, [], [], flops), args.standalone)
    one_cpu = statistics.fmean(c for _, c in standalone)
    settings = default_settings(space.budget("proxy").epochs)
    trained, _, train_cpu = train_timed(space, settings)
    [(scores, _, score_cpu)] = score_timed(space, trained.supernet, configurations,
                                           [EvaluationSettings("recalibrate", args.calibration_images)])
    target = len(configurations) / 20
    lines += [f"stand-alone proxy trials (training + validation): "
              f"{', '.join(f'{w:.0f} s wall / {c:.1f} s CPU' for w, c in standalone)} (1 trial = their mean CPU)",
              f"supernet ({settings.epochs} epochs, sandwich largest + smallest + {settings.rule.random} random): training "
              f"{train_cpu:.0f} s CPU = {train_cpu / one_cpu:.1f} trials; scoring {len(scores)} configurations "
              f"(recalibrated on {args.calibration_images} training images, {scores[0].n_val} validation images each) "
              f"{score_cpu:.0f} s CPU = {score_cpu / one_cpu:.1f} trials",
              f"ranking every configuration: {(train_cpu + score_cpu) / one_cpu:.1f} stand-alone trials of CPU time "
              f"(target: at most {target:.2f}, one twentieth of a trial per configuration): "
              f"{'met' if train_cpu + score_cpu <= target * one_cpu else 'NOT met'}; supernet accuracy "
              f"{100 * min(s.accuracy for s in scores):.1f} to {100 * max(s.accuracy for s in scores):.1f} points"]
    _emit(lines, args.out)


def search_check(args: argparse.Namespace) -> None:
    """Screen and confirm on the table, ``args.search_seeds`` supernet seeds (module docstring)."""
    import random
    from dataclasses import replace

    from octsearch.spaces import load_space
    from octsearch.store import open_store
    from octsearch.supernet.confirm import choose_confirmations
    from octsearch.supernet.settings import EvaluationSettings, default_settings
    from octsearch.tables.lookup import Table
    from octsearch.tables.quality import TableScore
    from octsearch.tables.truth import model_truth

    space = load_space(args.space)
    with open_store(f"sqlite:///{args.db}", create=False, upgrade=False) as store:
        table = Table(store, args.table)
        truths = {"means": TableScore(table), "model": TableScore(table, model_truth(store, args.table))}
    configurations = [t.configuration for t in sorted(table.trials.values(), key=lambda t: t.number)]
    uniform = [u.key for u in space.uniform_configurations()]
    others = [c.key for c in configurations if c.key not in uniform]
    seeds = sorted({r.seed for c in configurations for r in table.runs(c)})
    true_front = truths["means"].front()
    lines = [f"command: {command_line()}", f"machine: {machine()}",
             f"table {args.table}: true front (means) {len(true_front)} configurations, "
             f"{sum(k in true_front for k in uniform)} of them uniform points; "
             f"{len(configurations)} configurations, seeds {seeds}; K = {args.search_check} "
             f"confirmations ({len(uniform)} uniform points + {args.search_check - len(uniform)} chosen); true front "
             + ", ".join(f"{k} {t.true_hypervolume:.5f}" for k, t in truths.items())
             + " (hypervolume: accuracy fraction x share of alpha-0 FLOPs saved, conv+fc multiply-adds)"]
    rng = random.Random(0)
    draws = [uniform + rng.sample(others, args.search_check - len(uniform)) for _ in range(200)]
    at_random = {name: sorted(score.share(d) for d in draws) for name, score in truths.items()}
    for name, score in truths.items():
        q1, q2, q3 = statistics.quantiles(at_random[name], n=4)
        lines.append(f"  truth {name}: uniform points alone {100 * score.share(uniform):.2f}%; uniform + random picks "
                     f"median {100 * q2:.2f}% [IQR {100 * q1:.2f} to {100 * q3:.2f}] of the true hypervolume (200 draws)")
    _emit(lines, args.out)
    shares: dict[str, list[float]] = {name: [] for name in truths}
    spread: dict[str, list[float]] = {name: [] for name in truths}
    cache = read_cache(args.scores_cache)
    for seed in range(args.search_seeds):
        settings = replace(default_settings(space.budget("proxy").epochs), seed=seed)
        accuracy, seconds = cached_scores(space, configurations, settings,
                                          EvaluationSettings(calibration_images=args.calibration_images, seed=seed),
                                          cache, args.scores_cache)
        picks = choose_confirmations(space, list(zip(configurations, accuracy, strict=True)), args.search_check)
        keys = [p.configuration.key for p in picks]
        by_gain = _spread_picks(space, configurations, accuracy, uniform, args.search_check)
        for name, score in truths.items():
            spread[name].append(score.share(by_gain))
        replayed = [table.answer(p.configuration, seeds[seed % len(seeds)], set()).accuracy for p in picks]
        for name, score in truths.items():
            shares[name].append(score.share(keys))
        lines.append(f"  supernet seed {seed} ({settings.epochs} epochs, {seconds:.0f} s CPU): confirmed "
                     f"{[p.configuration.by_param for p in picks[len(uniform):]]}; share of the true hypervolume "
                     + ", ".join(f"{name} {100 * shares[name][-1]:.2f}%" for name in truths)
                     + f"; the report's Kendall tau-b (supernet vs replayed seed {seeds[seed % len(seeds)]}, n "
                     f"{len(picks)}): {tau([p.supernet_accuracy for p in picks], replayed):+.3f}; filled by supernet "
                     "hypervolume gain instead: " + ", ".join(f"{name} {100 * spread[name][-1]:.2f}%" for name in truths)
                     + "; " + _where(picks, uniform, set(truths["means"].front()), space))
        _emit(lines, args.out)
    if not args.search_seeds:
        return
    lines.append("screen and confirm, median [min, max] over supernet seeds: " + "; ".join(
        f"truth {name} {100 * statistics.median(v):.2f}% [{100 * min(v):.2f}, {100 * max(v):.2f}] (above "
        f"{100 * sum(r < statistics.median(v) for r in at_random[name]) / len(at_random[name]):.0f}% of the random draws)"
        for name, v in shares.items()) + " of the true hypervolume (target: at least 99%)")
    lines.append("filled by supernet hypervolume gain instead of cheapest first, median [min, max]: " + "; ".join(
        f"truth {name} {100 * statistics.median(v):.2f}% [{100 * min(v):.2f}, {100 * max(v):.2f}]"
        for name, v in spread.items()))
    _emit(lines, args.out)


def _where(picks, uniform: list[str], true_front: set[str], space) -> str:  # noqa: ANN001
    """Where the supernet's front lies (FLOPs as a share of the alpha-0 network's) and how many
    picks beyond the uniform points are on the table's true front (means)."""
    alpha0 = space.flops(space.uniform(0.0))
    chosen = [p for p in picks if p.configuration.key not in uniform]
    front = sorted(round(p.flops / alpha0, 2) for p in chosen if p.layer == 1)
    return (f"the supernet's front among them: {len(front)} at {front} of the alpha-0 FLOPs; picks on the table's "
            f"true front (means): {sum(p.configuration.key in true_front for p in chosen)} of {len(chosen)}")


def _spread_picks(space, configurations, accuracy: list[float], uniform: list[str], k: int) -> list[str]:  # noqa: ANN001
    """An alternative fill, measured beside the launch's: after the uniform points, greedily the
    configuration that adds most to the hypervolume of the picks under the supernet's scores
    (reference: chance accuracy, the alpha-0 FLOPs); layer order once none adds any."""
    from octsearch.pareto import hypervolume
    from octsearch.supernet.confirm import choose_confirmations

    flops = {c.key: space.flops(c) for c in configurations}
    score = {c.key: a for c, a in zip(configurations, accuracy, strict=True)}
    reference = (1 / int(space.model_args["num_classes"]), float(max(flops.values())))

    def volume(keys: list[str]) -> float:
        return hypervolume([(score[key], flops[key]) for key in keys], reference, ["max", "min"])

    picks = list(uniform)
    while len(picks) < k:
        gain, best = max((volume([*picks, c.key]), c.key) for c in configurations if c.key not in picks)
        if gain <= volume(picks):
            break
        picks.append(best)
    scored = list(zip(configurations, accuracy, strict=True))
    layered = [p.configuration.key for p in choose_confirmations(space, scored, len(configurations))]
    return (picks + [key for key in layered if key not in picks])[:k]


def cached_scores(space, configurations, settings, scoring, cache: dict, path: str | None) -> tuple[list[float], float]:  # noqa: ANN001
    """One supernet seed's scores of ``configurations`` (fractions) and the CPU seconds of training and
    scoring: from ``cache`` (seed -> [scores, CPU s], the JSON at ``path``) when it holds
    ``settings.seed`` (the CPU supernet is deterministic), else trained, scored and written to it."""
    key = str(settings.seed)
    if key not in cache:
        trained, _, train_cpu = train_timed(space, settings)
        [(scores, _, score_cpu)] = score_timed(space, trained.supernet, configurations, [scoring])
        cache[key] = ([s.accuracy for s in scores], train_cpu + score_cpu)
        if path:
            Path(path).write_text(json.dumps(cache))
    accuracy, seconds = cache[key]
    return accuracy, seconds


def read_cache(path: str | None) -> dict:
    """The scores cache at ``path`` (seed -> [scores, CPU s]); empty when absent."""
    return json.loads(Path(path).read_text()) if path and Path(path).exists() else {}


_PRINTED = [0]


def _emit(lines: list[str], out: str | None) -> None:
    """Print the lines not printed yet; rewrite ``out`` with all of them (a stopped run keeps its figures)."""
    print("\n".join(lines[_PRINTED[0]:]), flush=True)
    _PRINTED[0] = len(lines)
    if out:
        Path(out).write_text("```\n" + "\n".join(lines) + "\n```\n")


if __name__ == "__main__":
    main()
