"""``octsearch revalidate``: train a search's front again at the full budget and compare rankings.

Units shown: accuracy on the validation split in % (mean ± standard error over seeds, the
standard error including the split's binomial error), GFLOPs = 1e9 multiply-adds in the search's
convention at batch 1. JSON carries raw values: accuracy as a fraction, FLOPs as multiply-adds.
"""

from __future__ import annotations

import argparse
import math
import sys
from typing import Any

EXIT_INTERRUPTED = 130
EXIT_FAILED_RUNS = 1


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "revalidate", help="train a search's front and uniform-alpha points at the full budget with several seeds")
    p.add_argument("name", metavar="NAME", help="the search (see `octsearch searches`)")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--top", type=int, metavar="K",
                       help="only the K front members most accurate at the proxy budget (default: all)")
    which.add_argument("--versus-uniform", action="store_true",
                       help="only the front members whose gain over uniform alpha is not yet significant (see "
                            "`octsearch pareto NAME --versus-uniform`) and their uniform rivals, with the seeds "
                            "the power calculation asks for (at most --seeds, default 10)")
    p.add_argument("--budget", default="full", metavar="full|EPOCHS",
                   help="full: the space's budget.full (default); a number: the full budget with that many "
                        "epochs (stored as epochs=N)")
    p.add_argument("--seeds", type=int, metavar="S",
                   help="evaluations each configuration should have at that budget (default 2; with "
                        "--versus-uniform the most it may ask for); seeds already stored count")
    p.add_argument("--concurrency", type=int, metavar="C", help="runs at a time (default: the space's)")
    p.add_argument("--address", metavar="ADDRESS",
                   help="join a Ray cluster: HOST:PORT, ray://HOST:PORT or auto; default: a local Ray")
    p.add_argument("--format", choices=("table", "json"), default="table", help="the final report")
    p.add_argument("--db", metavar="URL", help="store URL (sqlite:///..., postgresql://...); default $OCTSEARCH_DB "
                                               "or SQLite in the user data directory")
    p.set_defaults(func=cmd_revalidate)


def cmd_revalidate(args: argparse.Namespace) -> int:
    from octsearch.validate import RevalidateOptions, revalidate

    opts = RevalidateOptions(name=args.name, top=args.top, budget=args.budget, seeds=args.seeds,
                             concurrency=args.concurrency, address=args.address, db=args.db,
                             versus_uniform=args.versus_uniform)
    progress = {"n": 0, "total": 0}
    out = sys.stderr if args.format == "json" else sys.stdout

    def on_plan(plan: Any) -> None:
        progress["total"] = len(plan.jobs)
        if plan.verdict is not None:
            print(_verdict_plan(plan.verdict), file=out, flush=True)
        print(_plan_line(plan), file=out, flush=True)

    def on_outcome(o: Any) -> None:
        progress["n"] += 1
        where = f"[{progress['n']}/{progress['total']}] trial {o.job.trial}, seed {o.job.seed}"
        if o.result is None:
            print(f"{where}: failed (not retried): {o.error}", file=out, flush=True)
        else:
            r = o.result
            print(f"{where}: {100 * r.accuracy:.2f}% val acc after {r.epochs} epochs "
                  f"({r.train_seconds:.0f} s training on {o.node})", file=out, flush=True)

    result = revalidate(opts, on_plan=on_plan, on_outcome=on_outcome)
    if args.format == "json":
        print(_to_json(result.report))
    else:
        print(_report_text(result.report, args.db))
    if args.versus_uniform and args.format == "table":
        from octsearch.cli.verdict_view import verdict_line

        print(verdict_line(args.db, args.name, result.plan.label))
    c = result.counts
    if c.stopped:
        print(f"interrupted: {c.done} run(s) stored, {c.cancelled} not run; the same command continues",
              file=sys.stderr)
        return EXIT_INTERRUPTED
    if result.failures:
        print(f"{len(result.failures)} run(s) failed or were not stored (listed above); the same command tries "
              "them again", file=sys.stderr)
        return EXIT_FAILED_RUNS
    return 0


# -- text ---------------------------------------------------------------------------------------


def _verdict_plan(verdict: Any) -> str:
    """Why these configurations: the verdict that chose them."""
    from octsearch.cli.verdict_view import method_text, summary

    return (f"versus uniform alpha at budget {verdict.budget}: {summary(verdict)}; {method_text(verdict)}; "
            "re-validating the open members and their uniform rivals with the seeds the power calculation asks for")


def _seeds_text(seeds: tuple[int, ...]) -> str:
    low, high = min(seeds, default=0), max(seeds, default=0)
    return f"{high} seed(s) each" if low == high else f"{low} to {high} seeds each"


def _plan_line(plan: Any) -> str:
    members = len(plan.front_members)
    where = plan.address or "a local Ray"
    front = "front member(s) still open against uniform alpha" if plan.verdict is not None else "proxy-front member(s)"
    head = (f"revalidate {plan.search!r} at budget {plan.label} ({plan.epochs} epochs; the proxy trains "
            f"{plan.proxy_epochs}): {len(plan.selected)} configuration(s) ({members} {front}, "
            f"{len(plan.uniform)} uniform-alpha point(s)), {_seeds_text(plan.seeds)}")
    if not plan.jobs:
        return f"{head}: all {plan.stored} evaluation(s) already stored, nothing to train"
    return (f"{head}: {len(plan.jobs)} run(s) to train, {plan.stored} already stored; "
            f"{plan.concurrency} at a time on {where}")


def _pct(value: float | None, se: float | None = None) -> str:
    if value is None:
        return "-"
    return f"{100 * value:.2f}" + ("" if se is None else f" ± {100 * se:.2f}")


def _alphas(alphas: dict[str, float]) -> str:
    return " ".join("0" if a == 0 else f"{a:g}".removeprefix("0") for a in alphas.values())


def _report_text(report: Any, db: str | None) -> str:
    from octsearch.cli._format import gflops, table
    from octsearch.store import FLOPS_LABELS

    label, b = FLOPS_LABELS[report.flops_key], report.budget
    rows = [{
        "trial": r.trial,
        f"{b} val acc % (±se)": _pct(r.accuracy, r.stderr),
        "seeds": len(r.seeds),
        "proxy val acc % (±se)": _pct(r.proxy_accuracy, r.proxy_stderr),
        f"GFLOPs ({label} MACs)": "-" if r.flops is None else gflops(r.flops),
        "x alpha-0": "-" if r.flops is None else f"{r.flops / report.reference_flops:.3f}",
        "front": ("P" if r.on_proxy_front else "") + ("F" if r.on_front else ""),
        "alphas (slot order)": ("uniform " if r.uniform_alpha is not None else "") + _alphas(dict(r.alphas)),
    } for r in report.rows]
    lines = [f"re-validated configurations of {report.search!r} at budget {b}, cheapest first "
             f"(val acc on the validation split, mean ± standard error over seeds; front: P on the proxy "
             f"front, F on the {b} front)",
             table(rows) if rows else "(none)"]
    t = report.tau
    if math.isnan(t.tau):
        lines.append(f"rank agreement proxy vs {b}: Kendall tau-b undefined (n = {t.n}; it needs 2 or more "
                     "configurations, and neither the proxy nor the {b} accuracies all equal)")
    else:
        lines.append(f"rank agreement proxy vs {b}: Kendall tau-b = {t.tau:.2f} over n = {t.n} configurations "
                     f"(two-sided p = {t.p_value:.2g}, {t.method}; 1 = same order, 0 = unrelated)")
    s = report.survival
    kept = ", ".join(str(k) for k in s.kept) or "none"
    lines.append(f"proxy-front members still on the {b} front: {len(s.kept)} of {len(s.judged)} re-validated "
                 f"(trials: {kept}); the {b} front has {len(s.front)} member(s)")
    if report.noise_groups:
        lines.append(f"noise floor at {b}: seed-to-seed std {100 * report.noise_std:.2f} points of val acc "
                     f"(pooled over {report.noise_groups} configurations)")
    db_arg = f" --db {db}" if db else ""
    lines.append(f"the {b} front again: octsearch pareto {report.search} --budget {b}{db_arg}")
    return "\n".join(lines)


def _to_json(report: Any) -> str:
    from dataclasses import asdict

    from octsearch.cli._format import to_json

    def number(v: float) -> float | None:
        return None if isinstance(v, float) and math.isnan(v) else v

    return to_json({
        "search": report.search,
        "budget": report.budget,
        "flops_key": report.flops_key,
        "reference_flops": report.reference_flops,
        "kendall_tau": {"tau": number(report.tau.tau), "p_value": number(report.tau.p_value), "n": report.tau.n,
                        "method": report.tau.method},
        "front_survival": {"judged": list(report.survival.judged), "kept": list(report.survival.kept),
                           "front": list(report.survival.front)},
        "noise_std": number(report.noise_std),
        "noise_groups": report.noise_groups,
        "rows": [{**asdict(r), "alphas": dict(r.alphas)} for r in report.rows],
    })
