"""The model-based verdict against uniform alpha in words: the second half of
``pareto --versus-uniform``, after the pairwise test.

Units shown: predicted accuracy in % of the validation split (± SE), contrasts in points of it at
equal FLOPs; GFLOPs = 1e9 multiply-adds at batch 1 in the search's convention. JSON and CSV carry
points and multiply-adds, named in them. The statistics are
:mod:`octsearch.analysis.versus_curve`'s; this module only words them.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from octsearch.cli._format import gflops, table
from octsearch.cli.effects_view import additivity_line, alpha_text, cv_line, finite, p_text

if TYPE_CHECKING:
    from octsearch.analysis.versus_curve import CurveContrast, CurveVerdict

LABEL = "model-based contrast"
UNITS = {
    "predicted": "points of validation accuracy (percent of the split), the model's mean at the member's FLOPs",
    "estimate": "points of validation accuracy at equal FLOPs: member minus the uniform-alpha curve",
    "flops": "multiply-adds of one forward pass at batch 1 (1 FMA = 1 FLOP), the search's convention",
}


def _curve(c: CurveContrast) -> str:
    if c.lower is None or c.upper is None or c.weight is None:
        return "-"
    if c.lower == c.upper:
        return f"{alpha_text(c.lower)}"
    return f"{alpha_text(c.lower)} -> {alpha_text(c.upper)} ({c.weight:.0%})"


def outcome(c: CurveContrast, v: CurveVerdict) -> str:
    if c.kind != "compared" or c.estimate is None:
        return c.note
    side = "above" if c.estimate > 0 else "below"
    if c.significant:
        return f"{side} the curve, significant at {v.level:.0%} (Holm)"
    return f"{side} the curve, not significant at {v.level:.0%} (Holm)"


def _row(c: CurveContrast, v: CurveVerdict) -> dict[str, str]:
    compared = c.kind == "compared" and c.estimate is not None
    return {
        "trial": str(c.trial),
        f"GFLOPs ({v.flops_label} MACs)": gflops(c.flops),
        "predicted val acc % (±se)": "-" if c.predicted is None else f"{c.predicted:.2f} ± {c.predicted_se:.2f}",
        "uniform curve between (% of the way, log FLOPs)": _curve(c),
        "contrast points (±se)": f"{c.estimate:+.2f} ± {c.se:.2f}" if compared else "-",
        "z": f"{c.z:.2f}" if compared else "-",
        "p": p_text(c.p) if c.p is not None else "-",
        "p Holm": p_text(c.p_holm) if c.p_holm is not None else "-",
        "verdict": outcome(c, v),
    }


def summary(v: CurveVerdict) -> str:
    """'per-layer above the uniform curve for 5 of 7 members compared (1 significant at 5%, Holm)'."""
    compared = v.compared
    if not compared:
        return "no per-layer front member lies within the uniform points' FLOPs range: nothing compared"
    above = sum(1 for c in compared if (c.estimate or 0) > 0)
    up = sum(1 for c in compared if c.significant and (c.estimate or 0) > 0)
    down = sum(1 for c in compared if c.significant and (c.estimate or 0) < 0)
    signif = f"{up} significantly above, {down} significantly below at {v.level:.0%}, Holm"
    return f"per-layer above the uniform curve for {above} of {len(compared)} members compared ({signif})"


def curve_text(v: CurveVerdict) -> str:
    """The table, the summary, the definition and what the contrast rests on."""
    uniforms = ", ".join(f"alpha {alpha_text(a)} at {gflops(f)}" for a, f in v.uniforms)
    head = (f"{LABEL}: each front member against the uniform-alpha curve at its own FLOPs, from the model of "
            f"{v.n_evaluations} evaluations of {v.n_configurations} configurations (budget {v.budget}; predicted val "
            f"acc in % of the validation split, contrast in points of it at equal FLOPs; GFLOPs = 1e9 {v.flops_label} "
            "multiply-adds)")
    return "\n".join([
        head, table([_row(c, v) for c in v.contrasts]) if v.contrasts else "(no front members)",
        f"{LABEL}: {summary(v)}",
        f"uniform points of the curve (GFLOPs): {uniforms}",
        f"definition: {v.definition}",
        f"model: {v.model}",
        f"rests on: {v.assumptions}; {cv_line(v.diagnostics)}; {additivity_line(v.additivity)}",
    ])


def contrast_json(c: CurveContrast) -> dict[str, Any]:
    return {**asdict(c), "significant": c.significant}


def curve_json(v: CurveVerdict | str) -> dict[str, Any]:
    """The numbers (points, multiply-adds), or why there are none."""
    if isinstance(v, str):
        return {"label": LABEL, "not_computed": v}
    return finite({**asdict(v), "contrasts": [contrast_json(c) for c in v.contrasts], "label": LABEL,
                   "summary": summary(v), "units": UNITS})


def csv_columns(v: CurveVerdict | str, trial: int) -> dict[str, Any]:
    """The model-based columns of one pairwise CSV row (empty where the member has none)."""
    c = None if isinstance(v, str) else next((c for c in v.contrasts if c.trial == trial), None)
    if c is None:
        return {"model_kind": None, "model_contrast_points": None, "model_se_points": None, "model_p": None,
                "model_p_holm": None}
    return {"model_kind": c.kind, "model_contrast_points": c.estimate, "model_se_points": c.se, "model_p": c.p,
            "model_p_holm": c.p_holm}
