"""``octsearch calibrate SPACE``: a pilot over a budget ladder, and the cheapest budget that resolves.

Trains the uniform-alpha points and a balanced design (see :mod:`octsearch.calibrate.design`) with a
few seeds at each rung of a budget ladder (epochs, training images, validation images, a moving
average of the weights; :mod:`octsearch.calibrate.ladder`) on Ray, storing every evaluation under
its rung's budget label (resumable: a rerun trains only what is missing). Then reports, per rung,
the seed noise, the seed-to-seed rank agreement, the effect a search of the space's trial count
would resolve, and seconds per trial (:mod:`octsearch.calibrate.report`), recommends the cheapest
rung that resolves ``--target`` points, and with ``--write`` / ``--write-space`` writes it into a
copy of the space file or the file itself (:mod:`octsearch.calibrate.write`).
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time

from octsearch.calibrate.pilot import DEFAULT_SEEDS
from octsearch.calibrate.report import DEFAULT_TARGET

RUNG_HELP = ("a rung of the budget ladder: key=value pairs joined by commas over the space's own budget, keys "
             "epochs (1-1000), train and val (images, >= 10 each), ema (a decay in [0, 1), 0: off), e.g. "
             "'epochs=1,train=2000'; repeat for each rung (default: the space's budget, the same with ema=0.99, half "
             "the epochs, twice the epochs)")


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("calibrate", help="a pilot over a budget ladder: which proxy budget resolves effects "
                                                "of +/-0.5 points of accuracy within the search's trials")
    p.add_argument("space", help="a shipped space name or a YAML path")
    p.add_argument("--rung", action="append", default=[], metavar="RUNG", help=RUNG_HELP)
    p.add_argument("--seeds", type=int, default=DEFAULT_SEEDS, metavar="S",
                   help=f"training seeds per configuration and rung (default {DEFAULT_SEEDS}, at least 2)")
    p.add_argument("--configurations", type=int, metavar="N",
                   help="rows of the balanced design (default: p^2 for p alphas a parameter, an orthogonal array "
                        "where p is prime); the uniform-alpha points are added")
    p.add_argument("--design-seed", type=int, default=0, metavar="K", help="seed of the design (default 0)")
    p.add_argument("--target", type=float, default=DEFAULT_TARGET, metavar="POINTS",
                   help=f"the effect to resolve, points of validation accuracy (default {DEFAULT_TARGET})")
    p.add_argument("--trials", type=int, metavar="T", help="the search's evaluations (default: the space's sampler.trials)")
    p.add_argument("--name", metavar="NAME", help="the pilot's name in the store (default calibrate-<space>); "
                                                  "an existing pilot continues")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--write", metavar="FILE.yaml", help="write the space with the recommended rung as its budget "
                                                          "into FILE (a copy; comments kept)")
    out.add_argument("--write-space", action="store_true", help="write the recommended rung into the space file itself")
    p.add_argument("--json", metavar="FILE.json", help="also write every figure as JSON")
    p.add_argument("--concurrency", type=int, metavar="K", help="runs at a time (default: the space's)")
    p.add_argument("--address", metavar="ADDRESS", help="join a Ray cluster (default: a local Ray)")
    p.add_argument("--db", metavar="URL", help="store URL (default $OCTSEARCH_DB or SQLite in the user data dir)")
    p.set_defaults(func=cmd_calibrate)


def _command(args: argparse.Namespace) -> str:
    """The command that reproduces the pilot (its store and outputs left out)."""
    parts = ["octsearch", "calibrate", args.space, "--seeds", str(args.seeds)]
    for option in ("configurations", "trials", "name"):
        if getattr(args, option) is not None:
            parts += [f"--{option}", str(getattr(args, option))]
    if args.design_seed:
        parts += ["--design-seed", str(args.design_seed)]
    if args.target != DEFAULT_TARGET:
        parts += ["--target", f"{args.target:g}"]
    for rung in args.rung:
        parts += ["--rung", rung]
    return " ".join(shlex.quote(p) for p in parts)


def cmd_calibrate(args: argparse.Namespace) -> int:
    from octsearch.calibrate.pilot import CalibrateOptions, prepare, run_pilot
    from octsearch.calibrate.report import calibrate_report, check_target, check_trials
    from octsearch.cli.output_files import check_writable

    check_target(args.target)
    if args.trials is not None:
        check_trials(args.trials)
    json_path = None if args.json is None else check_writable(args.json, "JSON")
    write_to = None if args.write is None else check_writable(args.write, "space")
    opts = CalibrateOptions(space=args.space, name=args.name, rungs=tuple(args.rung), seeds=args.seeds,
                            configurations=args.configurations, design_seed=args.design_seed,
                            concurrency=args.concurrency, address=args.address, db=args.db)
    from octsearch.calibrate.resolution import unit_se

    pilot, store = prepare(opts)  # every input checked before anything runs
    store.close()
    trials = args.trials or pilot.space.sampler.trials
    unit = unit_se(pilot.space, trials, args.design_seed)  # a search too small for the model: refused now
    if args.write_space:
        write_to = check_writable(pilot.space.path, "space")
    result = run_pilot(opts, on_plan=_print_plan, on_outcome=_progress(time.monotonic()))
    print(f"calibration {pilot.name!r} {result.status}: {result.counts.done} run(s) trained, {result.counts.failed} "
          f"failed, {result.counts.cancelled} not run", flush=True)
    if result.status == "interrupted":
        print("run the same command again to continue", file=sys.stderr)
        return 130
    from octsearch.store import open_store

    with open_store(args.db, create=False, upgrade=False) as store:
        report = calibrate_report(store, pilot.name, tuple(s.rung.label for s in pilot.ladder), trials, unit,
                                  args.target)
    _output(args, report, result.plan, json_path, write_to)
    return 0


def _print_plan(plan) -> None:  # noqa: ANN001
    from octsearch.cli.calibrate_view import plan_text

    print(plan_text(plan), flush=True)


def _progress(started: float):  # noqa: ANN202
    done = [0]

    def on_outcome(outcome) -> None:  # noqa: ANN001
        done[0] += 1
        job, r = outcome.job, outcome.result
        what = (f"{100 * r.accuracy:.2f}% val acc ({r.train_seconds:.1f} s training)" if r is not None
                else f"failed: {outcome.error}")
        print(f"  [{done[0]}] {job.label} trial {job.trial} seed {job.seed}: {what}; "
              f"{time.monotonic() - started:.0f} s elapsed", flush=True)

    return on_outcome


DEVICE = "the CPU (one Ray task per trial, the budget's threads)"


def _output(args: argparse.Namespace, report, plan, json_path, write_to) -> None:  # noqa: ANN001
    from octsearch.calibrate.write import calibrated_text, check_calibrated
    from octsearch.cli._format import to_json
    from octsearch.cli.calibrate_view import comment_lines, report_json, report_text
    from octsearch.cli.output_files import write_text
    from octsearch.errors import ConfigError

    command = _command(args)
    print(report_text(report, DEVICE), flush=True)
    if json_path is not None:
        written = write_text(json_path, to_json(report_json(report, plan, DEVICE, command)) + "\n", "JSON")
        print(f"JSON written to {written}", file=sys.stderr)
    if write_to is None:
        return
    if report.recommended is None:
        raise ConfigError(f"no rung resolves +/-{report.target:g} points with {report.trials} trials: "
                          f"nothing written to {write_to}")
    pilot = plan.pilot
    rung = next(s.rung for s in pilot.ladder if s.rung.label == report.recommended)
    text = calibrated_text(pilot.space.text, rung, pilot.base, comment_lines(report, command))
    check_calibrated(text, rung, write_to)
    print(f"space with budget {rung.label} written to {write_text(write_to, text, 'space')}", file=sys.stderr)
