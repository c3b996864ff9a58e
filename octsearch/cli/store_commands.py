"""Commands that read the store: ``searches``, ``trials``, ``pareto``, ``export`` and ``db``.

Units shown: accuracy on the validation split in % (mean ± standard error), GFLOPs = 1e9
multiply-adds at batch 1 in the search's convention (conv+fc, the paper's, unless the search
minimises all-operator FLOPs; see :func:`octsearch.cli._format.gflops`), parameters in
millions. JSON and CSV carry raw values: accuracy as a fraction, FLOPs as multiply-adds.
``pareto --versus-uniform`` and ``export`` also state the verdict against uniform alpha
(:mod:`octsearch.store.versus_uniform`, worded by :mod:`octsearch.cli.verdict_view`);
``pareto --versus-uniform`` adds the model-based contrast (:mod:`octsearch.analysis.versus_curve`,
worded by :mod:`octsearch.cli.curve_view`) and ``export --model-best`` the model's pick
(:mod:`octsearch.analysis.pick`, :mod:`octsearch.cli.pick_view`).
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from octsearch.cli._format import gflops
from octsearch.cli.store_view import (
    acc_text,
    emit,
    flops_label,
    json_row,
    kind_label,
    mparams,
    ratio,
    search_row,
)
from octsearch.errors import ConfigError, OctsearchError
from octsearch.store import TRIAL_STATUSES

if TYPE_CHECKING:
    from octsearch.analysis.pick import ModelPick
    from octsearch.analysis.versus_curve import CurveVerdict
    from octsearch.config_file import ModelConfig
    from octsearch.store import NothingFits, SearchRecord, Selection, Store, TrialRecord, Verdict

FORMATS = ("table", "json", "csv")


def register(subparsers: argparse._SubParsersAction) -> None:
    db_help = "database URL: sqlite:///PATH or postgresql://... (default: $OCTSEARCH_DB, then a file in the user data directory)"

    p = subparsers.add_parser("searches", help="list every search with its trial counts by status")
    p.add_argument("--format", choices=FORMATS[:2], default="table")
    p.add_argument("--db", metavar="URL", help=db_help)
    p.set_defaults(func=cmd_searches)

    p = subparsers.add_parser("trials", help="list every trial of a search")
    p.add_argument("name", metavar="NAME")
    p.add_argument("--status", choices=TRIAL_STATUSES)
    p.add_argument("--limit", type=int, metavar="N", help="at most N trials (default: every trial)")
    p.add_argument("--newest", action="store_true", help="the highest trial numbers first")
    p.add_argument("--format", choices=FORMATS, default="table")
    p.add_argument("--db", metavar="URL", help=db_help)
    p.set_defaults(func=cmd_trials)

    p = subparsers.add_parser("pareto", help="show the Pareto front (accuracy max, FLOPs min) of a search")
    p.add_argument("name", metavar="NAME")
    p.add_argument("--format", choices=FORMATS, default="table")
    p.add_argument("--plot", metavar="FILE.png", help="also draw the front, all trials and the uniform-alpha curve")
    p.add_argument("--budget", default="proxy", help="which evaluations: proxy (default), full (re-validated), ...")
    p.add_argument("--versus-uniform", action="store_true",
                   help="also judge each front member against uniform alpha twice: the pairwise test (against the "
                        "best uniform-alpha point with no more FLOPs: one-sided z-test, Holm-corrected, 5%%, and what "
                        "would settle the open ones) and the model-based contrast (against the uniform-alpha curve "
                        "at the member's FLOPs, from the model of every evaluation: see octsearch effects)")
    p.add_argument("--db", metavar="URL", help=db_help)
    p.set_defaults(func=cmd_pareto)

    p = subparsers.add_parser("export", help="write one trial's network as a config file")
    p.add_argument("name", metavar="NAME")
    rule = p.add_mutually_exclusive_group(required=True)
    rule.add_argument("--max-flops", metavar="X",
                      help="most accurate within X: GFLOPs (0.02), with a unit (20M, 0.02G multiply-adds) "
                           "or a share of the alpha-0 network (50%%)")
    rule.add_argument("--min-accuracy", metavar="Y", help="cheapest reaching Y: a fraction (0.95) or percent (95%%)")
    rule.add_argument("--knee", action="store_true", help="the knee of the front (farthest above the line between its extremes)")
    rule.add_argument("--trial", type=int, metavar="N", help="trial number N")
    rule.add_argument("--model-best", metavar="X",
                      help="the evaluated configuration the model of the search (octsearch effects) predicts most "
                           "accurate within X FLOPs: GFLOPs (0.005), with a unit (5M) or a share of the alpha-0 "
                           "network (70%%); its accuracy comes from the model's budget (default: the one with the "
                           "most evaluations)")
    p.add_argument("-o", "--output", required=True, metavar="FILE.json")
    p.add_argument("--budget", help="results to use: full when re-validated results exist (default), else proxy")
    p.add_argument("--db", metavar="URL", help=db_help)
    p.set_defaults(func=cmd_export)

    p = subparsers.add_parser("db", help="the store's schema: current revision, upgrade")
    sub = p.add_subparsers(dest="db_command", metavar="ACTION", required=True, parser_class=type(p))
    q = sub.add_parser("upgrade", help="bring the database to the newest schema (in place)")
    q.add_argument("--db", metavar="URL", help=db_help)
    q.set_defaults(func=cmd_db_upgrade)
    q = sub.add_parser("current", help="print the database URL and its schema revision")
    q.add_argument("--db", metavar="URL", help=db_help)
    q.set_defaults(func=cmd_db_current)


# -- handlers -----------------------------------------------------------------------------------


def _open(args: argparse.Namespace) -> Store:
    """The store, opened to read: nothing created, upgraded or written (not even WAL mode)."""
    from octsearch.store import open_store

    return open_store(args.db, create=False, upgrade=False)


def cmd_searches(args: argparse.Namespace) -> int:
    from octsearch.cli._format import table, to_json
    from octsearch.store import resolve_url, sqlite_path

    path = sqlite_path(resolve_url(args.db))
    if path is not None and not path.exists():  # a fresh install: nothing to list yet
        records = []
        print(f"store: {path} (does not exist yet)", file=sys.stderr)
    else:
        with _open(args) as store:
            records = store.list_searches()
        print(f"store: {store.url}", file=sys.stderr)
    rows = [search_row(r) for r in records]
    if args.format == "json":
        print(to_json(rows))
    else:
        print(table(rows) if rows else "(no searches)")
    return 0


def cmd_trials(args: argparse.Namespace) -> int:
    with _open(args) as store:
        record = store.get_search(args.name)
        trials = store.trials(args.name, args.status, limit=args.limit, newest=args.newest)
    if record.kind != "search":
        print(f"search {record.name!r}{kind_label(record)}", file=sys.stderr)
    emit(args.format, trials, record, with_status=True)
    return 0


def cmd_pareto(args: argparse.Namespace) -> int:
    from octsearch.cli.plot import plot_front
    from octsearch.store import versus_uniform

    with _open(args) as store:
        record = store.get_search(args.name)
        front = store.front(args.name, args.budget)
        hv = store.hypervolume(args.name, args.budget)
        everything = store.scored_trials(args.name, args.budget) if args.plot else []
        verdict = versus_uniform(store, args.name, args.budget) if args.versus_uniform else None
        curve = _curve_verdict(store, args.name, args.budget) if args.versus_uniform else ""
    if args.format == "table":
        print(
            f"search {record.name!r}{kind_label(record)}: {len(front)} on the front of {record.trial_counts.get('complete', 0)} "
            f"complete trials (budget {args.budget}; objectives {', '.join(record.objectives)})\n"
            f"hypervolume {hv:.4f} (accuracy x share of alpha-0 FLOPs saved; reference: "
            f"{record.reference_accuracy:.1%} chance accuracy, alpha-0 network's "
            f"{gflops(record.reference_flops)} GFLOPs ({flops_label(record.flops_key)} MACs))"
        )
    if verdict is None:
        emit(args.format, front, record, with_status=False)
    else:
        _emit_versus(args.format, front, record, (verdict, curve), args.db)
    if args.format == "table":
        print(f"\n{effects_pointer(args.name, args.db)}")
    if args.plot:
        path = plot_front(args.plot, everything, front, reference_flops=record.reference_flops,
                          flops_key=record.flops_key,
                          title=f"{record.name} ({record.model_name}, budget {args.budget}): hypervolume {hv:.4f}")
        print(f"plot written to {path}", file=sys.stderr)
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from octsearch.config_file import write_config
    from octsearch.store import NothingFits, export_config, select_trial

    with _open(args) as store:
        record = store.get_search(args.name)
        pick = None if args.model_best is None else _model_pick(store, args, record)
        try:
            selection = select_trial(
                store,
                args.name,
                max_flops=None if args.max_flops is None else parse_flops(args.max_flops, record.reference_flops),
                min_accuracy=None if args.min_accuracy is None else parse_accuracy(args.min_accuracy),
                knee=args.knee,
                trial=args.trial if pick is None else pick.trial,
                budget=args.budget if pick is None else pick.budget,
            )
        except NothingFits as e:
            raise ConfigError(_nothing_fits(e, record)) from None
        config = export_config(store, args.name, selection)
        verdict = _export_verdict(store, args.name, selection)
    t, key = selection.trial, record.flops_key
    annotated, notes = _annotate(args, config, (verdict, t.number), pick)
    write_config(args.output, annotated)  # the export file's one write
    results = "re-validated (full-budget)" if selection.budget == "full" else f"{selection.budget}-budget"
    print(
        f"wrote {args.output}: trial {t.number} of {args.name!r} ({_rule(selection, record, pick)}, {results} results): "
        f"{acc_text(t)} val acc % over {t.n_evals} evaluation(s), "
        f"{gflops(getattr(t, key))} GFLOPs ({flops_label(key)} MACs, {ratio(getattr(t, key), record.reference_flops)} x alpha 0), "
        f"{mparams(t.param_count)} M params"
    )
    print("\n".join(notes))
    return 0


def _model_pick(store: Store, args: argparse.Namespace, record: SearchRecord) -> ModelPick:
    """The configuration the model predicts best within --model-best, or a one-line error."""
    from octsearch.analysis.pick import NothingWithin, model_best

    max_flops = parse_flops(args.model_best, record.reference_flops, "--model-best")
    try:
        return model_best(store, args.name, max_flops, args.budget)
    except NothingWithin as e:
        raise ConfigError(
            f"--model-best {args.model_best}: no configuration the model of search {e.search!r} was fit on has at "
            f"most {_flops_phrase(e.max_flops, record)}; the cheapest is trial {e.cheapest} with "
            f"{_flops_phrase(e.cheapest_flops, record)}") from None


def effects_pointer(name: str, db: str | None) -> str:
    """Where the per-parameter effects are: one line for pareto, launch and the dashboard."""
    return ("each parameter's alpha effect at equal FLOPs (the model of every evaluation): octsearch effects "
            f"{name}" + (f" --db {db}" if db else ""))


def _curve_verdict(store: Store, name: str, budget: str) -> CurveVerdict | str:
    """The model-based contrast of the front at ``budget``, or why the model cannot give one."""
    from octsearch.analysis.versus_curve import versus_uniform_curve

    try:
        return versus_uniform_curve(store, name, budget)
    except OctsearchError as e:  # too few evaluations, no predictable uniform point: the pairwise test stands
        return str(e)


def _emit_versus(fmt: str, front: Sequence[TrialRecord], record: SearchRecord,
                 verdicts: tuple[Verdict, CurveVerdict | str], db: str | None) -> None:
    """The front and both verdicts against uniform alpha (the pairwise test, the model-based
    contrast): JSON as one object, CSV one row per member with both."""
    from octsearch.cli._format import to_csv, to_json
    from octsearch.cli.curve_view import LABEL, csv_columns, curve_json, curve_text
    from octsearch.cli.verdict_view import comparison_json, verdict_json, verdict_text

    verdict, curve = verdicts
    if fmt == "json":
        print(to_json({"front": [json_row(t, record) for t in front], "versus_uniform": verdict_json(verdict),
                       "model_based": curve_json(curve)}))
    elif fmt == "csv":
        print(to_csv([comparison_json(c) | csv_columns(curve, c.member) for c in verdict.comparisons]), end="")
    else:
        emit(fmt, front, record, with_status=False)
        print(f"\n{verdict_text(verdict, db)}")
        print(f"\n{LABEL}: not computed ({curve})" if isinstance(curve, str) else f"\n{curve_text(curve)}")


def _export_verdict(store: Store, name: str, selection: Selection) -> Verdict | str:
    """The exported trial judged with the front (at the selection's budget), or why it cannot be."""
    from octsearch.store import versus_uniform

    try:
        return versus_uniform(store, name, selection.budget, also=(selection.trial.number,))
    except OctsearchError as e:  # no uniform point: the export itself still stands
        return str(e)


def _annotate(args: argparse.Namespace, config: ModelConfig, judged: tuple[Verdict | str, int],
              pick: ModelPick | None) -> tuple[ModelConfig, list[str]]:
    """The export with the verdict's (and the model pick's) numbers in its extra keys
    (``versus_uniform``; for a model pick ``model_choice``, with the rule as ``selection``), and
    the lines that say them."""
    from dataclasses import replace

    from octsearch.cli.pick_view import pick_json, pick_line, selection_json
    from octsearch.cli.verdict_view import export_json, export_line

    verdict, trial = judged
    extra, notes = dict(config.extra), []
    if pick is not None:
        notes.append(pick_line(pick, args.db))
        extra.update(selection=selection_json(pick), model_choice=pick_json(pick))
    if isinstance(verdict, str):
        notes.append(f"versus uniform alpha: not judged ({verdict})")
    else:
        notes.append(export_line(verdict, trial))
        extra["versus_uniform"] = export_json(verdict, trial)
    return replace(config, extra=extra), notes


def _flops_phrase(flops: float, record: SearchRecord) -> str:
    """A FLOPs bound or cost in words: '0.0250 GFLOPs (conv+fc multiply-adds, 62% of alpha 0)'."""
    share = flops / record.reference_flops
    return f"{gflops(flops)} GFLOPs ({flops_label(record.flops_key)} multiply-adds, {share:.0%} of alpha 0)"


def _rule(selection: Selection, record: SearchRecord, pick: ModelPick | None = None) -> str:
    """Why the exported trial was chosen."""
    if pick is not None:
        return f"the model's pick within {_flops_phrase(pick.max_flops, record)}"
    bound = selection.bound
    if selection.rule == "max_flops" and bound is not None:
        return f"most accurate within {_flops_phrase(bound, record)}"
    if selection.rule == "min_accuracy" and bound is not None:
        return f"cheapest reaching {bound:.2%} val accuracy"
    if selection.rule == "knee":
        return f"knee of the front of {selection.front_size}"
    return f"trial {selection.trial.number}"


def _nothing_fits(e: NothingFits, record: SearchRecord) -> str:
    """The unmet bound and the trial closest to it, in GFLOPs and percent."""
    closest, start = e.closest, f"no complete trial of search {e.search!r}"
    cost = _flops_phrase(getattr(closest, record.flops_key), record)
    if e.rule == "max_flops":
        return (f"{start} has at most {_flops_phrase(e.bound, record)}; the closest is trial {closest.number} "
                f"with {cost} at {closest.accuracy:.2%} val accuracy")
    return (f"{start} reaches {e.bound:.2%} val accuracy; the closest is trial {closest.number} "
            f"with {closest.accuracy:.2%} at {cost}")


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    from octsearch.store import upgrade_database

    shown, before, after = upgrade_database(args.db)
    if before == after:
        print(f"{shown}: already at the newest schema revision {after}")
    else:
        print(f"{shown}: upgraded schema from revision {before or 'none (empty database)'} to {after}")
    return 0


def cmd_db_current(args: argparse.Namespace) -> int:
    from octsearch.store import SCHEMA_HEAD, database_revision

    shown, current = database_revision(args.db)  # reads only
    state = "newest" if current == SCHEMA_HEAD else f"newest is {SCHEMA_HEAD}: run `octsearch db upgrade`"
    print(f"{shown}: schema revision {current or 'none (empty database)'} ({state})")
    return 0


# -- parsing ------------------------------------------------------------------------------------

_UNITS = {"": 1e9, "g": 1e9, "m": 1e6, "k": 1e3}


def parse_flops(text: str, reference_flops: int, option: str = "--max-flops") -> float:
    """A FLOPs bound (``option``'s value) -> multiply-adds: GFLOPs by default, K/M/G suffix, or N% of alpha 0."""
    value = text.strip().lower().removesuffix("flops").removesuffix("mac").removesuffix("macs")
    match = re.fullmatch(r"([0-9]*\.?[0-9]+(?:e[-+]?[0-9]+)?)\s*([gmk%]?)", value)
    if not match:
        raise ConfigError(
            f"{option} {text!r}: give GFLOPs (0.02), multiply-adds with a unit (20M, 0.02G) "
            "or a share of the alpha-0 network (50%)"
        )
    number, unit = float(match.group(1)), match.group(2)
    if unit == "%":
        return number / 100 * reference_flops
    flops = number * _UNITS[unit]
    if unit == "" and number > 1e4:
        raise ConfigError(
            f"{option} {text!r} reads as {number:g} GFLOPs, which no network here has; "
            "for multiply-adds write e.g. 20M"
        )
    return flops


def parse_accuracy(text: str) -> float:
    """--min-accuracy value -> fraction: 0.95 or 95%."""
    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*(%?)\s*", text)
    value = float(match.group(1)) / (100 if match.group(2) else 1) if match else -1.0
    if not 0 <= value <= 1:
        raise ConfigError(f"--min-accuracy {text!r}: give a fraction (0.95) or a percentage (95%)")
    return value
