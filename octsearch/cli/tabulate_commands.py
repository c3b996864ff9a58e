"""``octsearch tabulate``: evaluate every configuration of a space (or a sample) into a table."""

from __future__ import annotations

import argparse
import time

from octsearch.tables.build import DEFAULT_SEEDS


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("tabulate", help="evaluate every configuration of a space with a few seeds "
                                               "(a table to replay searches on)")
    p.add_argument("space", help="a shipped space name or a YAML path")
    p.add_argument("--name", required=True, help="the table's name in the store; an existing table continues")
    p.add_argument("--seeds", type=int, default=DEFAULT_SEEDS, metavar="S",
                   help=f"training seeds per configuration (default {DEFAULT_SEEDS})")
    p.add_argument("--sample", type=int, metavar="N", help="a stratified sample of N configurations, not all")
    p.add_argument("--sample-seed", type=int, default=0, metavar="K", help="seed of the sample (default 0)")
    p.add_argument("--concurrency", type=int, metavar="K", help="runs at a time (default: the space's)")
    p.add_argument("--address", metavar="ADDRESS", help="join a Ray cluster (default: a local Ray)")
    p.add_argument("--db", metavar="URL", help="store URL (default $OCTSEARCH_DB or SQLite in the user data dir)")
    p.set_defaults(func=cmd_tabulate)


def cmd_tabulate(args: argparse.Namespace) -> int:
    from octsearch.tables.build import TabulateOptions, tabulate

    opts = TabulateOptions(space=args.space, name=args.name, seeds=args.seeds, sample=args.sample,
                           sample_seed=args.sample_seed, concurrency=args.concurrency, address=args.address,
                           db=args.db)
    started, done = time.monotonic(), [0]

    def on_plan(plan) -> None:  # noqa: ANN001
        print(f"table {plan.name!r}: {plan.configurations} configuration(s) x {len(plan.seeds)} seed(s) "
              f"({', '.join(map(str, plan.seeds))}); {plan.stored} run(s) stored, {len(plan.jobs)} to train, "
              f"{plan.concurrency} at a time", flush=True)

    def on_outcome(outcome) -> None:  # noqa: ANN001
        done[0] += 1
        job = outcome.job
        what = (f"{100 * outcome.result.accuracy:.2f}% val acc ({outcome.result.train_seconds:.1f} s training)"
                if outcome.result is not None else f"failed: {outcome.error}")
        print(f"  [{done[0]}] trial {job.trial} seed {job.seed}: {what}; {time.monotonic() - started:.0f} s elapsed",
              flush=True)

    result = tabulate(opts, on_plan=on_plan, on_outcome=on_outcome)
    print(f"table {args.name!r} {result.status}: {result.counts.done} run(s) trained, {result.counts.failed} "
          f"failed, {result.counts.cancelled} not run, in {time.monotonic() - started:.0f} s wall")
    return 130 if result.status == "interrupted" else 0
