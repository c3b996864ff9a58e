"""``octsearch datasets`` (list the registry), ``octsearch dataset show NAME`` (load and describe)
and ``octsearch dataset prepare`` (:mod:`octsearch.cli.dataset_prepare_commands`)."""

from __future__ import annotations

import argparse
import time

from octsearch.cli._format import table, to_json
from octsearch.cli.dataset_prepare_commands import add_prepare
from octsearch.errors import ConfigError


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("datasets", help="list the registered data sets")
    p.add_argument("--json", action="store_true", help="print a JSON list instead of a table")
    p.set_defaults(func=_list)

    p = subparsers.add_parser(
        "dataset", help="inspect a data set (show) or decode an image folder once for trials (prepare)"
    )
    sub = p.add_subparsers(dest="dataset_command", metavar="SUBCOMMAND", parser_class=type(p))
    s = sub.add_parser("show", help="load a data set and print its split, sizes and normalisation")
    s.add_argument("name", metavar="NAME", help="a name from `octsearch datasets`")
    s.add_argument("--root", help="directory of the files (cifar10, cifar100, imagefolder, prepared)")
    s.add_argument("--seed", type=int, default=0, help="split seed (default 0)")
    s.add_argument(
        "--val-fraction",
        type=float,
        default=0.2,
        help="validation fraction of each class (default 0.2)",
    )
    s.add_argument(
        "--image-size", type=int, help="side in pixels (default: native; imagefolder 32)"
    )
    s.add_argument("--limit", type=int, help="cap on the total number of images (stratified)")
    s.add_argument(
        "--option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a data-set option, e.g. resize=pad or split=test (repeatable)",
    )
    s.add_argument("--json", action="store_true", help="print one JSON object")
    s.set_defaults(func=_show)
    add_prepare(sub)


def _list(args: argparse.Namespace) -> int:
    from octsearch.data import dataset_info, list_datasets

    rows = []
    for name in list_datasets():
        info = dataset_info(name)
        rows.append(
            {
                "name": name,
                "root": "required" if info.needs_root else "-",
                "options": ", ".join(
                    f"{o.name}={o.accepted}" for o in info.options
                ),
                "available": "yes" if info.available else f"no (needs {info.requires})",
                "description": info.summary,
            }
        )
    print(to_json(rows) if args.json else table(rows))
    return 0


def _show(args: argparse.Namespace) -> int:
    from octsearch.data import dataset_info, load_dataset

    info = dataset_info(args.name)
    specs = {o.name: o for o in info.options}
    options = {}
    for item in args.option:
        key, sep, text = item.partition("=")
        if not sep:
            raise ConfigError(f"--option {item!r} is not KEY=VALUE; e.g. --option resize=pad")
        if key not in specs:
            raise ConfigError(
                f"{args.name}: unknown option {key!r}; accepted: {', '.join(sorted(specs)) or '(none)'}"
            )
        options[key] = specs[key].parse(args.name, text)
    import octsearch.data._tensors  # noqa: F401  (torch: imported before the clock starts)

    start = time.perf_counter()
    data = load_dataset(
        args.name,
        seed=args.seed,
        val_fraction=args.val_fraction,
        image_size=args.image_size,
        root=args.root,
        limit=args.limit,
        **options,
    )
    seconds = time.perf_counter() - start
    summary = {
        "name": data.name,
        "description": data.description,
        "train_images": data.num_train,
        "val_images": data.num_val,
        "num_classes": data.num_classes,
        "in_chans": data.in_chans,
        "image_size_px": data.image_size,
        "class_names": list(data.class_names),
        "normalisation_mean": list(data.normalisation.mean),
        "normalisation_std": list(data.normalisation.std),
        "load_seconds": round(seconds, 3),
    }
    if args.json:
        print(to_json(summary))
        return 0
    print(data.description)
    print(
        f"train {data.num_train:,} images, validation {data.num_val:,} images, "
        f"{data.num_classes} classes, {data.in_chans} x {data.image_size} x {data.image_size} px"
    )
    print("classes: " + ", ".join(data.class_names))
    print(
        "normalisation (pixel scaled to [0, 1], train split): mean "
        + ", ".join(f"{m:.4f}" for m in data.normalisation.mean)
        + "; std "
        + ", ".join(f"{s:.4f}" for s in data.normalisation.std)
    )
    print(f"loaded in {seconds:.2f} s (wall clock, after imports)")
    return 0
