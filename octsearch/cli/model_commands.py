"""``octsearch models``, ``octsearch slots MODEL`` and ``octsearch flops MODEL``."""

from __future__ import annotations

import argparse
from typing import Any

from octsearch.cli._format import gflops, json_object, table, to_json

FLOPS_CONVENTION = "1 FLOP = 1 fused multiply-add; batch 1"


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("models", help="list the registered Oct model families")
    p.set_defaults(func=cmd_models)

    p = subparsers.add_parser("slots", help="list a model's alpha slots")
    p.add_argument("model")
    _model_args(p)
    p.add_argument("--all", action="store_true", help="include slots pinned to alpha 0")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_slots)

    p = subparsers.add_parser("flops", help="count a model's FLOPs (fvcore) and parameters")
    p.add_argument("model")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--uniform", type=float, metavar="A", help="one alpha for every free slot (default 0)")
    group.add_argument("--alphas", metavar="JSON", help='per-slot alphas, e.g. \'{"stage1.out": 0.5, ...}\'')
    _model_args(p)
    p.add_argument("--json", action="store_true", help="one JSON object (multiply-adds, not rounded)")
    p.set_defaults(func=cmd_flops)


def _model_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--input-size", type=int, metavar="N", help="input side in pixels (model default if omitted)")
    p.add_argument("--num-classes", type=int, metavar="K")
    p.add_argument("--in-chans", type=int, metavar="C")
    p.add_argument("--width-mult", type=float, metavar="W")


def _args_of(args: argparse.Namespace) -> dict[str, Any]:
    given = {
        "input_size": args.input_size, "num_classes": args.num_classes,
        "in_chans": args.in_chans, "width_mult": args.width_mult,
    }
    return {k: v for k, v in given.items() if v is not None}


def parse_alphas_json(text: str) -> dict[str, float]:
    """Parse ``--alphas`` JSON into slot -> alpha; a one-line error otherwise."""
    return json_object("--alphas", text, 'an object slot -> alpha, e.g. \'{"stage1.out": 0.5, ...}\'')


def cmd_models(args: argparse.Namespace) -> int:
    from octsearch.core.registry import list_models, model_entry

    rows = []
    for name in list_models():
        entry = model_entry(name)
        defaults = ", ".join(f"{k}={v}" for k, v in entry.defaults.items())
        rows.append({"model": name, "family": entry.family, "defaults": defaults, "description": entry.description})
    print(table(rows))
    return 0


def cmd_slots(args: argparse.Namespace) -> int:
    from octsearch.core.registry import alpha_slots

    slots = alpha_slots(args.model, include_pinned=args.all, **_args_of(args))
    rows = [
        {"slot": s.name, "channels": s.channels, "map side (px)": s.spatial, "layers": len(s.layers),
         "pinned to 0 because": s.pinned or ""}
        for s in slots
    ]
    if args.json:
        print(to_json([{"name": s.name, "channels": s.channels, "spatial": s.spatial, "layers": list(s.layers),
                        "pinned": s.pinned} for s in slots]))
        return 0
    print(table(rows, [c for c in rows[0] if args.all or c != "pinned to 0 because"] if rows else None))
    print(f"{sum(s.free for s in slots)} free slot(s)")
    return 0


def cmd_flops(args: argparse.Namespace) -> int:
    from octsearch.core.flops import count_flops
    from octsearch.core.registry import create_model

    alphas: Any = parse_alphas_json(args.alphas) if args.alphas else (args.uniform or 0.0)
    model = create_model(args.model, alphas, **_args_of(args))
    count = count_flops(model)
    c, h, w = count.input_shape
    if args.json:
        print(to_json({
            "model": args.model, "input_shape": [c, h, w], "flops_paper": count.flops_paper,
            "flops_all": count.flops_all, "param_count": count.param_count, "alphas": model.alphas,
            "by_operator": dict(count.by_operator), "per_slot": dict(count.per_slot),
            "convention": FLOPS_CONVENTION,
        }))
        return 0
    print(f"{args.model} at {c}x{h}x{w} ({FLOPS_CONVENTION})")
    print(f"  GFLOPs, paper convention (conv + fc):  {gflops(count.flops_paper)}")
    print(f"  GFLOPs, all operators:                 {gflops(count.flops_all)}")
    print(f"  parameters:                            {count.param_count:,}")
    rows = [{"operator": k, "MFLOPs": v / 1e6} for k, v in sorted(count.by_operator.items(), key=lambda kv: -kv[1])]
    print(table(rows))
    rows = [{"slot": k, "alpha": model.alphas.get(k, 0.0), "MFLOPs (conv+fc)": v / 1e6}
            for k, v in count.per_slot.items()]
    print(table(rows))
    return 0
