"""``octsearch spaces`` (list shipped spaces) and ``octsearch space show SPACE``."""

from __future__ import annotations

import argparse
from typing import Any

from octsearch.cli._format import gflops, table, to_json

FLOPS_NOTE = ("GFLOPs = 1e9 multiply-adds of one forward pass at batch 1; "
              "paper = convolutions + fully connected layers, all = every operator")


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("spaces", help="list the shipped search spaces")
    p.add_argument("--json", action="store_true", help="print a JSON list instead of a table")
    p.set_defaults(func=_list)

    p = subparsers.add_parser("space", help="inspect a search space")
    sub = p.add_subparsers(dest="space_command", metavar="SUBCOMMAND", parser_class=type(p))
    s = sub.add_parser("show", help="slots, search parameters, configurations and FLOPs range of a space")
    s.add_argument("space", metavar="SPACE", help="a YAML file or the name of a shipped space")
    s.add_argument("--json", action="store_true", help="print one JSON object")
    s.set_defaults(func=_show)


def _list(args: argparse.Namespace) -> int:
    from octsearch.spaces import list_spaces

    rows = [{"name": s.name, "description": s.description, "file": str(s.path)} for s in list_spaces()]
    print(to_json(rows) if args.json else table(rows, ["name", "description"]))
    return 0


def _show(args: argparse.Namespace) -> int:
    from octsearch.spaces import load_space

    space = load_space(args.space)
    points = _flops_points(space)
    if args.json:
        print(to_json(_as_json(space, points)))
        return 0
    print("\n".join(_describe(space)))
    print(f"\nslots of {space.model_name} (side: high-frequency map in pixels at input {space.model_args['input_size']})")
    print(table(_slot_rows(space)))
    print("\nsearch parameters")
    print(table([{"parameter": p.name, "choices": ", ".join(f"{c:g}" for c in p.choices),
                  "slots": _slot_list(p.slots)} for p in space.params]))
    print(f"\nconfigurations: {space.num_configurations:,}")
    print(f"\nFLOPs over the grid ({FLOPS_NOTE})")
    print(table([{"point": label, "GFLOPs (paper)": gflops(c.flops_paper), "GFLOPs (all)": gflops(c.flops_all),
                  "parameters": f"{c.param_count:,}"} for label, _, c in points]))
    return 0


def _describe(space: Any) -> list[str]:
    spec, data, proxy, full = space.spec, space.data, space.budget("proxy"), space.budget("full")
    args = " ".join(f"{k}={v}" for k, v in space.model_args.items())
    data_args = f"seed={data.seed} val_fraction={data.val_fraction} limit={data.limit} image_size={data.image_size or 'native'}"
    if data.root is not None:
        data_args += f" root={data.root}"
    data_args += "".join(f" {k}={v}" for k, v in data.options)
    data_args += f" augment={_augment(space)}"
    objectives = ["accuracy (max, validation split)", f"FLOPs (min, {spec.objectives.flops} convention)"]
    latency = f"latency (min, ms at batch 1, {spec.objectives.latency_path} inference path)"
    objectives += ["parameters (min)"] * spec.objectives.param_count + [latency] * spec.objectives.latency
    budget = "none" if spec.flops_budget is None else f"{spec.flops_budget:g} GFLOPs ({spec.objectives.flops} convention)"
    sampler = spec.sampler
    return [
        f"space        {space.name}  ({space.path})",
        f"sha256       {space.hash}",
        f"description  {space.description or '-'}",
        f"model        {space.model_name}  {args}",
        f"data         {data.name}  {data_args}",
        f"data size    {_data_size(space)}",
        f"budget       proxy: {_budget(proxy)}",
        f"             full:  {_budget(full)}",
        f"objectives   {', '.join(objectives)}",
        f"flops budget {budget}",
        f"sampler      {sampler.name} {sampler.args or ''}  {sampler.trials} trials, {sampler.concurrency} concurrent",
        f"resources    {_resources(space)}",
    ]


def _data_size(space: Any) -> str:
    """What the spec bounds without reading the data: images (limit, classes x per_class) and
    their uint8 bytes at the model's input size, the one copy each node keeps."""
    data, args = space.data, space.model_args
    options = dict(data.options)
    bounds = [n for n in (data.limit, (options.get("classes") or 0) * (options.get("per_class") or 0)) if n]
    side = data.image_size or args["input_size"]
    per_image = args["in_chans"] * side * side
    if not bounds:
        return f"the whole data set, {per_image:,} bytes an image as uint8 ({side} px), one copy per node"
    n = min(bounds)
    return (f"at most {n:,} images (train + validation) = {n * per_image / 1e9:.2f} GB as uint8 at {side} px, "
            "one copy per node shared by its trials")


def _resources(space: Any) -> str:
    r = space.resources()
    gpu = "no GPU (trains on the CPU)" if not r.gpu else f"{r.gpu:g} GPU(s) ({r.gpu_from})"
    return f"per trial {r.cpu} CPU(s) ({r.cpu_from}), {gpu}; launch --cpus-per-trial/--gpus-per-trial override"


def _budget(b: Any) -> str:
    o, s = b.optimizer, b.schedule
    opt = f"{o.name} lr {o.lr:g}" + (f" momentum {o.momentum:g}{' nesterov' if o.nesterov else ''}" if o.name == "sgd" else "")
    return (f"{b.epochs} epochs, batch {b.batch_size}, {opt}, weight decay {o.weight_decay:g}, "
            f"{s.name} schedule (warm-up {s.warmup:g} of the steps), seed {b.seed}, {b.threads} torch thread(s)"
            + (", channels-last" if b.channels_last else "")
            + (f", label smoothing {b.label_smoothing:g}" if b.label_smoothing else "")
            + (", deterministic on CUDA" if b.deterministic else ""))


def _augment(space: Any) -> str:
    from octsearch.data.augment_spec import default_augment

    spec = space.spec.data.augment
    return spec.name or f"{default_augment(space.data.name)} (the data set's default)"


def _slot_list(slots: tuple[str, ...]) -> str:
    if len(slots) <= 4:
        return ", ".join(slots)
    return f"{len(slots)} slots: {slots[0]}, {slots[1]}, ..., {slots[-1]}"


def _slot_rows(space: Any) -> list[dict[str, Any]]:
    owner = {s: p.name for p in space.params for s in p.slots}
    rows = []
    for slot in space.slots:
        if not slot.free:
            alpha = f"pinned to 0: {slot.pinned}"
        elif slot.name in owner:
            alpha = f"searched: {owner[slot.name]}"
        else:
            alpha = f"fixed {space.fixed[slot.name]:g}"
        rows.append({"slot": slot.name, "channels": slot.channels, "side": slot.spatial, "alpha": alpha})
    return rows


def _flops_points(space: Any) -> list[tuple[str, dict[str, float], Any]]:
    """(label, parameter -> alpha, cost) of the grid's extremes and its uniform-alpha points."""
    most, least = space.extreme_configurations()
    points = [("max: every parameter at its smallest choice", most)]
    points += [(f"uniform {c.uniform_alpha:g}", c) for c in space.uniform_configurations()]
    points.append(("min: every parameter at its largest choice", least))
    return [(label, c.by_param, space.with_cost(c).counted) for label, c in points]


def _as_json(space: Any, points: list[tuple[str, dict[str, float], Any]]) -> dict[str, Any]:
    return {
        "name": space.name, "path": space.path, "hash": space.hash, "description": space.description,
        "model": {"name": space.model_name, "args": space.model_args},
        "data": {"name": space.data.name, "seed": space.data.seed, "val_fraction": space.data.val_fraction,
                 "limit": space.data.limit, "image_size": space.data.image_size, "root": space.data.root},
        "slots": [{"name": s.name, "channels": s.channels, "side": s.spatial, "pinned": s.pinned} for s in space.slots],
        "params": [{"name": p.name, "choices": list(p.choices), "slots": list(p.slots)} for p in space.params],
        "fixed": space.fixed,
        "num_configurations": space.num_configurations,
        "flops_unit": "multiply-adds at batch 1 (1 fused multiply-add = 1 FLOP)",
        "flops": [{"point": label, "config": p, "flops_paper": c.flops_paper, "flops_all": c.flops_all,
                   "param_count": c.param_count} for label, p, c in points],
    }
