"""How the store commands show trials: table rows, JSON and CSV rows, and their headers.

Units shown: accuracy on the validation split in % (mean ± standard error), GFLOPs = 1e9
multiply-adds at batch 1 in the search's convention (see :func:`octsearch.cli._format.gflops`),
parameters in millions. JSON and CSV carry raw values: accuracy as a fraction, FLOPs as
multiply-adds.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from typing import Any

import yaml

from octsearch.cli._format import gflops

ACC_HEADER = "val acc % (±se)"
RATIO_HEADER = "x alpha-0"
PARAMS_HEADER = "params (M)"
ALPHAS_HEADER = "alphas (slot order)"


def flops_label(flops_key: str) -> str:
    """What a FLOPs convention counts ("conv+fc" or "all ops"); sqlalchemy loads only here."""
    from octsearch.store import FLOPS_LABELS

    return FLOPS_LABELS[flops_key]


def ratio(flops: int | None, reference: int) -> str:
    return "-" if flops is None or not reference else f"{flops / reference:.3f}"


def mparams(params: int | None) -> str:
    return "-" if params is None else f"{params / 1e6:.3f}"


def acc_text(t: Any) -> str:
    if t.accuracy is None:
        return "-"
    se = "" if t.accuracy_stderr is None else f" ± {100 * t.accuracy_stderr:.2f}"
    return f"{100 * t.accuracy:.2f}{se}"


def compact_alphas(alphas: dict[str, float]) -> str:
    """Alphas in slot order, e.g. '.25 .5 0 .125'."""
    return " ".join("0" if a == 0 else f"{a:g}".removeprefix("0") for a in alphas.values())


def kind_label(r: Any) -> str:
    """What a stored search is, for people: nothing for a search, else a parenthesis."""
    if r.kind == "table":
        return " (a table: every configuration tabulated)"
    if r.kind == "replay":
        return f" (a replay of table {r.source!r}: evaluations answered from the table, in simulated time)"
    return ""


def search_row(r: Any) -> dict[str, Any]:
    c = r.trial_counts
    return {
        "name": r.name,
        "kind": f"replay of {r.source}" if r.kind == "replay" else r.kind,
        "status": r.status,
        "model": r.model_name,
        "sampler": r.sampler,
        "trials": r.n_trials,
        **{s: c.get(s, 0) for s in ("complete", "running", "failed", "pruned", "infeasible", "interrupted", "lost", "scored")},
        "created (UTC)": r.created_at.strftime("%Y-%m-%d %H:%M"),
    }


def json_row(t: Any, record: Any) -> dict[str, Any]:
    cost = getattr(t, record.flops_key)
    return {
        "trial": t.number,
        **({"replay_of": record.source} if record.kind == "replay" else {}),
        "status": t.status,
        "accuracy": t.accuracy,
        "accuracy_stderr": t.accuracy_stderr,
        "n_evals": t.n_evals,
        "budget": t.budget,
        "flops_paper": t.flops_paper,
        "flops_all": t.flops_all,
        "flops_ratio": None if cost is None else cost / record.reference_flops,  # search's convention
        "param_count": t.param_count,
        "latency_ms": t.latency_ms,
        "alphas": dict(t.configuration.by_slot),
        "is_uniform": t.is_uniform,
        "uniform_alpha": t.uniform_alpha,
        "on_front": t.on_front,
        "node": t.node,
        "train_seconds": t.train_seconds,
        "error": t.error,
    }


def _latency(ms: float | None) -> str:
    return "-" if ms is None else f"{ms:.2f}"


@functools.lru_cache(maxsize=8)
def _latency_header(space_text: str) -> str:
    """The latency column's name, with the inference path the search's space measured it through."""
    from octsearch.spaces.schema import ObjectivesSpec

    objectives = (yaml.safe_load(space_text) or {}).get("objectives") or {}
    path = objectives.get("latency_path", ObjectivesSpec.model_fields["latency_path"].default)
    return f"latency ms (batch 1, {path} path)"


def _table_row(t: Any, record: Any, with_status: bool) -> dict[str, Any]:
    key = record.flops_key
    row = {
        "trial": t.number,
        ACC_HEADER: acc_text(t),
        "n": t.n_evals,
        f"GFLOPs ({flops_label(key)} MACs)": gflops(getattr(t, key)),
        RATIO_HEADER: ratio(getattr(t, key), record.reference_flops),
        PARAMS_HEADER: mparams(t.param_count),
        ALPHAS_HEADER: compact_alphas(dict(t.configuration.by_slot)),
    }
    if "latency_ms" in record.objectives:  # measured on the trial's node, batch 1
        row = {**dict(list(row.items())[:5]), _latency_header(record.space_text): _latency(t.latency_ms),
               **dict(list(row.items())[5:])}
    if with_status:
        row["status"] = t.status + (" *" if t.on_front else "")
        if t.error:
            row["error"] = t.error.splitlines()[0][:60]
    return row


def emit(fmt: str, trials: Sequence[Any], record: Any, with_status: bool) -> None:
    from octsearch.cli._format import table, to_csv, to_json

    if fmt == "json":
        print(to_json([json_row(t, record) for t in trials]))
    elif fmt == "csv":  # alphas as JSON text in slot order
        rows = [json_row(t, record) for t in trials]
        print(to_csv([{**r, "alphas": json.dumps(r["alphas"])} for r in rows]), end="")
    else:
        rows = [_table_row(t, record, with_status) for t in trials]
        columns = list(rows[0]) if rows else None
        if rows and with_status and any("error" in r for r in rows):
            columns = [*rows[0].keys(), *(["error"] if "error" not in rows[0] else [])]
        print(table(rows, columns))
        if with_status and rows:
            print("(* on the front)")
