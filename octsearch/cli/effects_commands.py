"""``octsearch effects NAME``: the model of a search (or table) and which layers tolerate alpha.

Fits one OLS model over every stored evaluation of the search at one budget: validation accuracy
(points) ~ quadratic in log FLOPs + one effect per parameter and alpha (against alpha 0) + seed,
and reports each effect at equal FLOPs with its SE, p, Holm p, detectable size, a Wald test per
parameter and diagnostics (see :mod:`octsearch.analysis`). Reads the store only.

Units shown: points of validation accuracy (percent of the validation split); FLOPs are
multiply-adds at batch 1 in the search's convention. ``--json`` and ``--csv`` carry the same units.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from octsearch.analysis.pipeline import SearchModel
    from octsearch.cli.space_predictions import SpacePredictions
    from octsearch.store import SearchRecord, Store

HELP = "the model of a search: each parameter's effect per alpha on validation accuracy at equal FLOPs"
DESCRIPTION = (
    "Fit one least-squares model over every stored evaluation of search (or table) NAME at one budget: "
    "validation accuracy (points, i.e. percent of the validation split) ~ quadratic in log FLOPs (the search's "
    "convention, multiply-adds) + one effect per searched parameter and alpha (treatment-coded against alpha 0) "
    "+ seed (block term). Evaluations below chance + 1/2 (median - chance) are training failures: counted and "
    "left out. SEs are the larger of the cluster-robust (by configuration) and the classic one; p values are "
    "Holm-corrected; each parameter gets a Wald test. Interactions are not modelled (a joint F-test says "
    "whether they are needed). Prints the report; --json and --csv also write every number (points, "
    "multiply-adds) to files. Reads the store only."
)


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("effects", help=HELP, description=DESCRIPTION)
    p.add_argument("name", metavar="NAME", help="a search or table (octsearch searches lists them)")
    p.add_argument("--budget", metavar="B", help="which evaluations: default the budget with the most (usually proxy)")
    p.add_argument("--plot", metavar="FILE.png",
                   help="also draw each parameter's effects with 95%% confidence intervals, by stage")
    p.add_argument("--json", metavar="FILE.json", help="also write the whole result as JSON (points, multiply-adds)")
    p.add_argument("--csv", metavar="FILE.csv", help="also write one CSV row per effect (points)")
    p.add_argument("--predictions", metavar="FILE.csv",
                   help="also predict every configuration of the search's space, evaluated or not (points +/- SE; "
                        "unevaluated ones' FLOPs counted with the space's cost model, which loads torch), write them "
                        "as CSV and print the model-based front")
    p.add_argument("--db", metavar="URL", help="database URL: sqlite:///PATH or postgresql://... "
                                               "(default: $OCTSEARCH_DB, then a file in the user data directory)")
    p.set_defaults(func=cmd_effects)


def cmd_effects(args: argparse.Namespace) -> int:
    from octsearch.analysis.evaluations import read_evaluations
    from octsearch.analysis.pipeline import effects_result, fit_search
    from octsearch.cli._format import to_csv, to_json
    from octsearch.cli.effects_plot import plot_effects
    from octsearch.cli.effects_view import effect_rows, report_text, result_json
    from octsearch.cli.output_files import check_writable, write_text
    from octsearch.cli.store_view import kind_label
    from octsearch.store import open_store

    plot = None if args.plot is None else check_writable(args.plot, "plot", ".png")
    json_path = None if args.json is None else check_writable(args.json, "JSON")
    csv_path = None if args.csv is None else check_writable(args.csv, "CSV")
    predictions = None if args.predictions is None else check_writable(args.predictions, "CSV")
    with open_store(args.db, create=False, upgrade=False) as store:  # reads only: nothing created or upgraded
        record = store.get_search(args.name)
        model = fit_search(read_evaluations(store, args.name, args.budget))
        result = effects_result(model)
        space = None if predictions is None else _space_predictions(store, record, model)
    print(report_text(result, kind_label(record)), flush=True)
    if plot is not None:
        print(f"plot written to {plot_effects(plot, result)}", file=sys.stderr)
    if json_path is not None:
        print(f"JSON written to {write_text(json_path, to_json(result_json(result)) + chr(10), 'JSON')}",
              file=sys.stderr)
    if csv_path is not None:
        print(f"CSV written to {write_text(csv_path, to_csv(effect_rows(result)), 'CSV')}", file=sys.stderr)
    if space is not None and predictions is not None:
        from octsearch.cli.space_predictions import front_text, prediction_rows

        observed = _observed(model)
        print(f"\n{front_text(space, observed, result.flops_label)}")
        written = write_text(predictions, to_csv(prediction_rows(space, observed)), "CSV")
        print(f"predictions written to {written}", file=sys.stderr)
    return 0


def _space_predictions(store: Store, record: SearchRecord, model: SearchModel) -> SpacePredictions:
    from octsearch.cli.space_predictions import space_predictions

    return space_predictions(store, record, model)


def _observed(model: SearchModel) -> dict[int, tuple[float, int]]:
    """Each modelled trial's mean accuracy (points) and number of evaluations."""
    groups = model.kept.groupby("trial")["accuracy"]
    return {int(t): (float(m), int(n)) for t, m, n in zip(groups.mean().index, groups.mean(), groups.size(), strict=True)}
