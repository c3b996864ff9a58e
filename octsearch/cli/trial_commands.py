"""``octsearch trial SPACE (--uniform A | --alphas JSON | --config FILE)``: one proxy trial."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from octsearch.cli._format import gflops, json_object, to_json
from octsearch.errors import ConfigError

ALPHAS_ACCEPTED = 'an object slot -> alpha (every searched slot) or parameter -> alpha, e.g. \'{"stage2.out": 0.25, ...}\''


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("trial", help="train and evaluate one alpha configuration of a space")
    p.add_argument("space", metavar="SPACE", help="a YAML file or the name of a shipped space")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--uniform", type=float, metavar="A", help="one alpha for every search parameter")
    which.add_argument("--alphas", metavar="JSON",
                       help='a JSON object: slot -> alpha (every searched slot) or parameter -> alpha')
    which.add_argument("--config", metavar="FILE", help="an export file (octsearch-config/1 JSON, from `octsearch export`)")
    p.add_argument("--seed", type=int, help="training seed (default: the space's budget.seed)")
    p.add_argument("--budget", choices=("proxy", "full"), default="proxy", help="training budget (default proxy)")
    p.add_argument("--device", help="cpu or cuda[:N] (default: cuda when available)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=_trial)


def _trial(args: argparse.Namespace) -> int:
    from octsearch.spaces import load_space
    from octsearch.trial import run_trial

    given = json_object("--alphas", args.alphas, ALPHAS_ACCEPTED) if args.alphas is not None else None  # before the space loads
    space = load_space(args.space)
    if args.uniform is not None:
        config: Any = args.uniform
    elif given is not None:
        config = given
    else:
        config = _config_file_alphas(Path(args.config), space)
    configuration = space.configuration(config)  # checked before anything is loaded or trained
    result = run_trial(space, configuration, seed=args.seed, budget=args.budget, device=args.device)
    if args.json:
        row = result.as_dict()
        keys = ("accuracy", "accuracy_stderr", "correct", "n_val", "epoch_accuracies", "flops_paper",
                "flops_all", "param_count", "train_seconds", "train_cpu_seconds", "eval_seconds", "latency_ms", "seed",
                "budget", "epochs", "device", "node", "torch_threads")
        print(to_json({"space": space.name, "space_hash": space.hash, **{k: row[k] for k in keys},
                       "config": configuration.by_param, "alphas": configuration.by_slot}))
        return 0
    pct, err = 100 * result.accuracy, 100 * result.accuracy_stderr
    epochs = ", ".join(f"{100 * a:.2f}%" for a in result.epoch_accuracies)
    print(f"space       {space.name} ({space.model_name} on {space.data.name})")
    print(f"config      {' '.join(f'{k}={v:g}' for k, v in configuration.params)}")
    print(f"accuracy    {pct:.2f}% ± {err:.2f} (validation split, {result.n_val:,} images; ± binomial standard error)")
    print(f"per epoch   {epochs}")
    print(f"GFLOPs      {gflops(result.flops_paper)} paper convention (conv + linear), "
          f"{gflops(result.flops_all)} all operators  (1 GFLOP = 1e9 multiply-adds, batch 1)")
    print(f"parameters  {result.param_count:,}")
    print(f"train       {result.train_seconds:.1f} s ({result.epochs} epochs, {args.budget} budget, seed {result.seed}, "
          f"{result.torch_threads} torch thread(s), {result.device}; {result.train_cpu_seconds:.1f} s CPU); "
          f"evaluation {result.eval_seconds:.1f} s")
    if result.latency_ms is not None:
        print(f"latency     {result.latency_ms:.2f} ms (median forward at batch 1, measured on the CPU at "
              f"{result.torch_threads} thread(s), whatever device trained)")
    return 0


def _config_file_alphas(path: Path, space: Any) -> dict[str, Any]:
    """slot -> alpha from an export file, which must be for the space's model and arguments."""
    from octsearch.config_file import read_config

    config = read_config(path)
    if config.model_name != space.model_name:
        raise ConfigError(f"{path}: the configuration is for model {config.model_name!r} but space {space.name} "
                          f"uses {space.model_name!r}; accepted: a configuration of {space.model_name}")
    for key, value in config.model_args.items():
        if space.model_args.get(key) != value:
            raise ConfigError(f"{path}: model argument {key}={value!r} but space {space.name} has "
                              f"{key}={space.model_args.get(key)!r}; accepted: a configuration exported for this space")
    return dict(config.alphas)
