"""``octsearch supernet SPACE --name N``: one weight-sharing training scores every configuration."""

from __future__ import annotations

import argparse
import time

from octsearch.supernet.settings import BN_MODES, CALIBRATION_IMAGES, EPOCHS_FACTOR


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("supernet", help="train one alpha supernet and score every configuration of a space "
                                               "(stored at budget 'supernet')")
    p.add_argument("space", help="a shipped space name or a YAML path")
    p.add_argument("--name", required=True, help="the search that holds the scores; a rerun resumes it")
    p.add_argument("--epochs", type=int, metavar="E",
                   help=f"supernet epochs (default: {EPOCHS_FACTOR}x the space's proxy epochs; on mnist81 1x and 2x "
                        "rank alike, both below one stand-alone seed, and 1x costs half: "
                        "bench/results/supernet_fidelity_mnist81.md)")
    p.add_argument("--random", type=int, default=2, metavar="K",
                   help="random configurations per step besides the largest and smallest (default 2)")
    p.add_argument("--distill", action="store_true", help="in-place distillation from the largest configuration")
    p.add_argument("--bn", choices=BN_MODES, default="recalibrate",
                   help="batch norm when scoring (default recalibrate: each configuration's statistics recomputed)")
    p.add_argument("--calibration-images", type=int, default=CALIBRATION_IMAGES, metavar="N",
                   help=f"training images per recalibration (default {CALIBRATION_IMAGES})")
    p.add_argument("--seed", type=int, default=0, metavar="S", help="training seed (default 0)")
    p.add_argument("--sample", type=int, metavar="N", help="score a stratified sample of N configurations, not all")
    p.add_argument("--workers", type=int, default=1, metavar="W", help="Ray tasks that score (default 1: the trial)")
    p.add_argument("--checkpoint", metavar="FILE", help="checkpoint file (default: in the user data directory)")
    p.add_argument("--gpus", type=float, metavar="G", help="GPUs for the trial (default: the space's resources)")
    p.add_argument("--device", metavar="D", help="cpu or cuda[:N] (default: CUDA when the trial has one)")
    p.add_argument("--address", metavar="ADDRESS", help="join a Ray cluster (default: a local Ray)")
    p.add_argument("--db", metavar="URL", help="store URL (default $OCTSEARCH_DB or SQLite in the user data dir)")
    p.set_defaults(func=cmd_supernet)


def _checkpoint(args: argparse.Namespace):  # noqa: ANN202
    from pathlib import Path

    if args.checkpoint:
        return Path(args.checkpoint)
    from octsearch.supernet.screen import checkpoint_path

    return checkpoint_path(args.name, None)


def cmd_supernet(args: argparse.Namespace) -> int:
    from octsearch.spaces import load_space
    from octsearch.store import open_store
    from octsearch.supernet.pipeline import SupernetOptions, supernet_search
    from octsearch.supernet.settings import EvaluationSettings, SandwichRule, SupernetSettings

    space = load_space(args.space)
    settings = SupernetSettings(args.epochs or EPOCHS_FACTOR * space.budget("proxy").epochs, SandwichRule(args.random, args.distill),
                                args.seed)
    scoring = EvaluationSettings(args.bn, args.calibration_images, args.seed)
    opts = SupernetOptions(args.name, settings, scoring, _checkpoint(args), args.workers, args.sample, args.gpus,
                           args.device, args.address)
    started = time.monotonic()
    with open_store(args.db) as store:
        outcome = supernet_search(space, store, opts)
    if outcome.notice:
        print(outcome.notice)
    run = outcome.run
    if run is None:
        print(f"search {args.name!r}: all {outcome.configurations} configuration(s) already scored at budget "
              f"'supernet' (seed {args.seed}); nothing to do")
        return 0
    resumed = f", resumed from epoch {run.resumed_from}" if run.resumed_from else ""
    best = max(run.scores, key=lambda s: s.accuracy)
    print(f"search {args.name!r}: supernet trained {settings.epochs} epoch(s) in {run.train_seconds:.0f} s{resumed} "
          f"(sandwich: largest, smallest + {settings.rule.random} random{', distilled' if settings.rule.distill else ''}); "
          f"{outcome.recorded} configuration(s) scored in {run.score_seconds:.0f} s (batch norm: {args.bn}), "
          f"stored at budget 'supernet'; {time.monotonic() - started:.0f} s wall")
    print(f"best supernet score: {100 * best.accuracy:.2f}% validation accuracy ({best.configuration.by_param}); "
          f"supernet scores rank configurations, they are not stand-alone accuracies: "
          f"`octsearch trials {args.name}` and `pareto` read them with budget 'supernet'")
    return 0
