"""``octsearch launch``: run or continue a search."""

from __future__ import annotations

import argparse
import sys

from octsearch.search.study import SAMPLER_NAMES
from octsearch.supernet.confirm import EVALUATORS


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("launch", help="run (or continue) a search of a space on Ray")
    p.add_argument("space", help="a shipped space name (see `octsearch spaces`) or a YAML path")
    p.add_argument("--name", required=True, help="the search's name; an existing name continues that search")
    p.add_argument("--trials", type=int, metavar="N", help="total trials of the search (default: the space's)")
    p.add_argument("--concurrency", type=int, metavar="K", help="trials at a time (default: the space's)")
    p.add_argument("--sampler", metavar="NAME", help=f"one of {', '.join(SAMPLER_NAMES)} (default: the space's)")
    p.add_argument("--seed", type=int, metavar="S", help="sampler seed (default: the space's budget seed)")
    p.add_argument("--address", metavar="ADDRESS",
                   help="join a Ray cluster: HOST:PORT of `ray start --head`, ray://HOST:PORT or auto; "
                        "default: a local Ray for this search")
    p.add_argument("--db", metavar="URL", help="store URL (sqlite:///..., postgresql://...); default $OCTSEARCH_DB "
                                               "or SQLite in the user data directory")
    p.add_argument("--seed-from", metavar="SEARCH", help="also evaluate the front of another search first")
    p.add_argument("--early-stop", action="store_true",
                   help="stop trials dominated at an epoch rung (Pareto successive halving)")
    p.add_argument("--repeats", type=int, metavar="S",
                   help="evaluate front candidates again with S further seeds (default: the space's, else 0)")
    p.add_argument("--noise-margin", type=float, metavar="Z",
                   help="a candidate is within Z standard errors of the front (default: the space's, else 1)")
    p.add_argument("--gpus-per-trial", type=float, metavar="F",
                   help="GPUs Ray gives each trial: a fraction in (0, 1] shares a card, 0 trains on the CPU "
                        "(default: the space's resources.gpu, else 0)")
    p.add_argument("--cpus-per-trial", type=int, metavar="N",
                   help="CPUs Ray reserves for each trial, at least budget.threads (default: the space's "
                        "resources.cpu, else budget.threads)")
    p.add_argument("--results-dir", metavar="DIR", help="Ray Tune's experiment directory")
    p.add_argument("--replay", metavar="TABLE",
                   help="answer every evaluation from a table (`octsearch tabulate`) in simulated time; no Ray")
    p.add_argument("--evaluator", choices=EVALUATORS, default="proxy",
                   help="proxy (default): every trial trains stand-alone; supernet: one weight-sharing supernet "
                        "scores the space (stored in search NAME.supernet at budget 'supernet'), then --confirm K "
                        "configurations train stand-alone")
    p.add_argument("--confirm", type=int, metavar="K",
                   help="with --evaluator supernet: configurations trained stand-alone at the proxy budget: the "
                        "uniform-alpha points, then the supernet's Pareto front (and next layers) cheapest first")
    p.add_argument("--json", metavar="FILE.json",
                   help="with --evaluator supernet: also write the screen-and-confirm report as JSON")
    p.set_defaults(func=cmd_launch)


def cmd_launch(args: argparse.Namespace) -> int:
    from octsearch.cli.launch_view import LaunchView
    from octsearch.search.launch import LaunchOptions, launch

    opts = LaunchOptions(
        space=args.space, name=args.name, trials=args.trials, concurrency=args.concurrency,
        sampler=args.sampler, seed=args.seed, address=args.address, db=args.db, seed_from=args.seed_from,
        early_stop=args.early_stop, results_dir=args.results_dir, repeats=args.repeats,
        noise_margin=args.noise_margin, replay=args.replay, gpus_per_trial=args.gpus_per_trial,
        cpus_per_trial=args.cpus_per_trial, evaluator=args.evaluator, confirm=args.confirm,
    )
    if args.json and args.evaluator != "supernet":
        from octsearch.errors import ConfigError

        raise ConfigError(f"--json {args.json} without --evaluator supernet; accepted: --json only with --evaluator "
                          "supernet (the screen-and-confirm report)")
    if args.json:
        from octsearch.cli.output_files import check_writable

        check_writable(args.json, "JSON")  # before the search, not after it

    def write(text: str) -> None:
        sys.stdout.write(text)
        sys.stdout.flush()

    view = LaunchView(write, tty=sys.stdout.isatty())
    try:
        result = launch(opts, emit=view)
    finally:
        view.close()
    counts = ", ".join(f"{k} {v}" for k, v in sorted(result.counts.items())) or "none"
    clock = f"simulated (replay of table {result.replay!r})" if result.replay else "wall"
    print(f"search {result.name!r} {result.status} after {result.elapsed_seconds:.0f} s {clock} "
          f"({result.train_seconds:.0f} s of training summed over trials); this run: {counts}")
    if result.ray_log:
        print(f"Ray's logs: {result.ray_log}")
    from octsearch.cli.main import main

    print()
    main(["pareto", result.name, *(["--db", args.db] if args.db else [])])
    from octsearch.cli.effects_view import effects_line
    from octsearch.cli.verdict_view import verdict_line

    print(verdict_line(args.db, result.name))
    print(effects_line(args.db, result.name))
    if result.screen is not None:
        _confirm_report(args, result.screen)
    return 130 if result.status == "interrupted" else 0


def _confirm_report(args: argparse.Namespace, screen) -> None:  # noqa: ANN001
    """Screen and confirm: what the supernet did and chose, then the report (also as JSON)."""
    from octsearch.cli.launch_view import confirm_lines, screen_lines
    from octsearch.store import open_store
    from octsearch.supernet.report import confirm_report

    with open_store(args.db) as store:
        report = confirm_report(store, args.name, screen.companion)
    print("\n".join([*screen_lines(screen), *confirm_lines(report)]))
    if args.json:
        from octsearch.cli._format import to_json
        from octsearch.cli.output_files import write_text

        print(f"report written to {write_text(args.json, to_json(report_json(screen, report)) + chr(10), 'JSON')}")


def report_json(screen, report) -> dict:  # noqa: ANN001
    """Every figure of the report, NaN as null; units under 'units'."""
    import dataclasses

    from octsearch.cli.effects_view import finite

    picks = [{"params": p.configuration.by_param, "supernet_accuracy_points": None if p.supernet_accuracy is None
              else 100 * p.supernet_accuracy, "flops": p.flops, "layer": p.layer} for p in screen.picks]
    body = dataclasses.asdict(report)
    body["front"] = [dataclasses.asdict(c) for c in report.front]
    run = screen.outcome.run
    body["screen"] = {"companion": screen.companion, "supernet_epochs": screen.settings.epochs,
                      "train_seconds": None if run is None else run.train_seconds,
                      "score_seconds": None if run is None else run.score_seconds, "picks": picks}
    return finite(body)
