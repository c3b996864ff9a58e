"""The verdict against uniform alpha in words: ``pareto --versus-uniform``, the closing line of
``launch``, the ``export`` line and what ``revalidate --versus-uniform`` prints.

Units shown: accuracy on the validation split in % (± standard error), differences in points of
it; GFLOPs = 1e9 multiply-adds at batch 1 in the search's convention (see
:func:`octsearch.cli._format.gflops`). JSON carries raw values: fractions and multiply-adds.
The statistics are :mod:`octsearch.store.versus_uniform`'s; this module only words them.
"""

from __future__ import annotations

import math
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from octsearch.cli._format import gflops, table
from octsearch.errors import OctsearchError

if TYPE_CHECKING:
    from octsearch.store import Comparison, Verdict

UNITS = {
    "accuracy": "fraction of the validation split; difference = member minus rival, stderr its SE",
    "flops": "multiply-adds of one forward pass at batch 1 (1 FMA = 1 FLOP), the search's convention",
    "seeds_needed": "evaluations per configuration in total (member and rival) for power 80% at alpha / m",
}


def _pct(value: float | None, se: float | None = None) -> str:
    if value is None:
        return "-"
    return f"{100 * value:.2f}" + ("" if se is None else f" ± {100 * se:.2f}")


def _gain(c: Comparison) -> str:
    return "-" if c.difference is None else f"{100 * c.difference:+.2f} ± {100 * (c.stderr or 0):.2f}"


def _num(value: float | None, digits: str = ".2f") -> str:
    return "-" if value is None else format(value, digits)


def _alpha(alpha: float | None) -> str:
    return "-" if alpha is None else ("0" if alpha == 0 else f"{alpha:g}".removeprefix("0"))


def outcome(c: Comparison, v: Verdict) -> str:
    """The verdict of one member in a few words, with what would settle it."""
    if c.kind == "uniform":
        return "uniform itself: compared with nothing"
    if c.kind == "no_rival":
        return "no rival: cheaper than every uniform point"
    level, power = f"{v.alpha:.0%}", f"{v.power:.0%}"
    return {
        "significant": f"significant at {level}",
        "seeds": f"not significant at {level}; {c.seeds_needed} seeds each give {power} power",
        "split": f"not significant at {level}; below what the split resolves",
        "not_ahead": "not ahead of uniform",
        "spread": f"not significant at {level}; seed spread unmeasured: {c.seeds_needed} seeds each",
    }[c.settle or "not_ahead"]


def _row(c: Comparison, v: Verdict, label: str) -> dict[str, str]:
    rival = "-" if c.rival is None else f"{c.rival} (alpha {_alpha(c.rival_alpha)})"
    return {
        "trial": str(c.member),
        f"GFLOPs ({label} MACs)": gflops(c.member_flops),
        "val acc % (±se)": _pct(c.member_accuracy, c.member_stderr),
        "uniform rival": rival,
        "rival GFLOPs": gflops(c.rival_flops),
        "rival val acc % (±se)": _pct(c.rival_accuracy, c.rival_stderr),
        "gain points (±se)": _gain(c),
        "z": _num(c.z),
        "p": _num(c.p_value, ".3g"),
        "p Holm": _num(c.p_corrected, ".3g"),
        "verdict": outcome(c, v),
    }


def summary(v: Verdict) -> str:
    """'per-layer beats uniform at 1 of 4 FLOPs levels (none significant at 5%)'."""
    if not v.levels:
        return "no per-layer front member has a uniform rival with no more FLOPs: nothing compared"
    level = f"{v.alpha:.0%}"
    sig = "none" if not v.significant_wins else f"{v.significant_wins}"
    return (f"per-layer beats uniform at {v.wins} of {v.levels} FLOPs level{'' if v.levels == 1 else 's'} "
            f"({sig} significant at {level})")


def method_text(v: Verdict) -> str:
    return f"test: {v.test} (m = {v.levels}), alpha {v.alpha:.0%}"


def _spread_text(v: Verdict) -> str:
    if v.seed_std is None:
        return ("seed-to-seed spread: unmeasured (no configuration has two seeds at this budget), so each SE is "
                "the validation split's binomial error alone and understates the noise")
    return (f"seed-to-seed spread: std {100 * v.seed_std:.2f} points, pooled over {v.seed_groups} configuration(s) "
            "with two or more seeds; added to the SE of every one-seed configuration")


def revalidate_command(v: Verdict, db: str | None) -> str:
    budget = "" if v.budget in ("proxy", "full") else f" --budget {v.budget.removeprefix('epochs=')}"
    return f"octsearch revalidate {v.search} --versus-uniform{budget}" + (f" --db {db}" if db else "")


def settle_lines(v: Verdict, db: str | None) -> list[str]:
    """What would settle the members that are not significant (nothing when none is open)."""
    asks = [c for c in v.compared if c.settle in ("seeds", "spread")]
    split = [c for c in v.compared if c.settle == "split"]
    lines = []
    if asks:
        trials = ", ".join(str(c.member) for c in asks)
        lines.append(
            f"what would settle it: up to {v.seeds_needed} seeds per configuration for trial(s) {trials} and their "
            f"uniform rivals (power {v.power:.0%} to detect each observed gain at {v.alpha:.0%} / {v.levels}, the "
            f"split's binomial error not shrinking with seeds): {revalidate_command(v, db)} "
            f"(trains at the full budget unless given --budget; then: octsearch pareto {v.search} --budget full "
            "--versus-uniform)")
    if split:
        trials = ", ".join(str(c.member) for c in split)
        lines.append(f"trial(s) {trials}: the gain is below what the validation split resolves at power {v.power:.0%} "
                     "under this test; no number of seeds settles it, only a larger split (or a paired per-image "
                     "comparison, which the store does not keep)")
    return lines


def verdict_text(v: Verdict, db: str | None = None) -> str:
    """The table, the summary, the test and what would settle it."""
    from octsearch.store import FLOPS_LABELS

    label = FLOPS_LABELS[v.flops_key]
    rows = [_row(c, v, label) for c in v.comparisons]
    head = (f"pairwise test: versus uniform alpha (budget {v.budget}): each front member against the most accurate uniform-alpha "
            f"trial with no more FLOPs (val acc on the validation split in %, gain in points of it; GFLOPs = 1e9 "
            f"{label} multiply-adds)")
    lines = [head, table(rows) if rows else "(no front members)", f"pairwise test: {summary(v)}", method_text(v),
             _spread_text(v)]
    return "\n".join([*lines, *settle_lines(v, db)])


def verdict_line(db: str | None, name: str, budget: str = "proxy") -> str:
    """One closing line for ``launch`` (and ``revalidate``); never raises on the search's state."""
    from octsearch.store import open_store, versus_uniform

    try:
        with open_store(db, create=False) as store:
            v = versus_uniform(store, name, budget)
    except OctsearchError as e:
        return f"versus uniform alpha: not judged ({e})"
    extra = f" --budget {budget}" if budget != "proxy" else ""
    details = f"details: octsearch pareto {name}{extra} --versus-uniform" + (f" --db {db}" if db else "")
    asks = f"; to settle: {v.seeds_needed} seeds per configuration, {revalidate_command(v, db)}" if v.seeds_needed else ""
    if not asks and any(c.settle == "split" for c in v.compared):
        asks = "; more seeds cannot settle it (below what the validation split resolves)"
    return f"versus uniform alpha (budget {budget}): {summary(v)}, one-sided z-test, Holm-corrected{asks}; {details}"


def export_line(v: Verdict, trial: int) -> str:
    """The verdict of the exported trial, in one line."""
    c = next(c for c in v.comparisons if c.member == trial)
    head = f"versus uniform alpha (budget {v.budget}): trial {trial}"
    if c.kind != "compared":
        return f"{head}: {outcome(c, v)}"
    return (f"{head} ({gflops(c.member_flops)} GFLOPs) vs uniform alpha {_alpha(c.rival_alpha)} (trial {c.rival}, "
            f"{gflops(c.rival_flops)} GFLOPs): {_gain(c)} points of val acc, z = {_num(c.z)}, one-sided "
            f"p = {_num(c.p_value, '.3g')}, Holm-corrected over {v.levels} compared: {_num(c.p_corrected, '.3g')}: "
            f"{outcome(c, v)}")


def _finite(value: Any) -> Any:
    return None if isinstance(value, float) and not math.isfinite(value) else value


def comparison_json(c: Comparison) -> dict[str, Any]:
    return {k: _finite(v) for k, v in asdict(c).items()} | {"win": c.win}


def verdict_json(v: Verdict) -> dict[str, Any]:
    """The numbers: every comparison and the summary (fractions, multiply-adds)."""
    return {
        "search": v.search, "budget": v.budget, "flops_key": v.flops_key, "test": v.test, "alpha": v.alpha,
        "power": v.power, "levels": v.levels, "wins": v.wins, "significant_wins": v.significant_wins,
        "seeds_needed": v.seeds_needed, "seed_std": v.seed_std, "seed_groups": v.seed_groups, "units": UNITS,
        "comparisons": [comparison_json(c) for c in v.comparisons],
    }


def export_json(v: Verdict, trial: int) -> dict[str, Any]:
    """The exported trial's comparison with the test that judged it (for the export file)."""
    c = next(c for c in v.comparisons if c.member == trial)
    return {**comparison_json(c), "budget": v.budget, "test": v.test, "alpha": v.alpha, "compared": v.levels,
            "units": UNITS}
