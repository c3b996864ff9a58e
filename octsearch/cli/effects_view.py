"""The model of a search in words and rows: what ``octsearch effects`` prints and writes.

Units shown: effects, SEs, confidence limits, detectable effects and SDs in points of validation
accuracy (percent of the validation split) at equal FLOPs, against alpha 0; FLOPs are multiply-adds
at batch 1 in the search's convention. JSON and CSV carry the same units (points), named in them.
The statistics are :mod:`octsearch.analysis`'s; this module only words them.
"""

from __future__ import annotations

import math
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from octsearch.cli._format import table

if TYPE_CHECKING:
    from octsearch.analysis import Effect, EffectsResult, ParameterTest
    from octsearch.analysis.additivity import Additivity
    from octsearch.analysis.diagnostics import Diagnostics
    from octsearch.analysis.failures import Failures

POINTS = "points of validation accuracy at equal FLOPs, against alpha 0"


def alpha_text(alpha: float) -> str:
    """An alpha as the spaces write it: '0', '.25', '.5'."""
    return "0" if alpha == 0 else f"{alpha:g}".removeprefix("0")


def p_text(value: float) -> str:
    """A p value: three decimals, or two significant digits below 0.001; one that three decimals
    would round onto the 5% line says which side it is on (0.0498, not 0.050)."""
    if value < 0.001:
        return f"{value:.1e}"
    return f"{value:.4f}" if round(value, 3) == 0.05 and value != 0.05 else f"{value:.3f}"


def report_text(r: EffectsResult, kind_note: str = "") -> str:
    """Everything ``octsearch effects`` prints: header, conventions, tables, words, diagnostics."""
    return "\n".join([
        *header_lines(r, kind_note), "",
        f"effects ({POINTS}; 95% CI; detectable = smallest effect found with 80% power, two-sided 5%):",
        table([_effect_row(e) for e in r.effects]), "",
        "does the parameter matter at all (Wald chi-square test that all its alphas' effects are 0):",
        table([_test_row(t) for t in r.parameters]), "",
        "in words:", *(f"  {line}" for line in parameter_lines(r)), "",
        "diagnostics:", *(f"  {line}" for line in diagnostic_lines(r)),
    ])


def header_lines(r: EffectsResult, kind_note: str = "") -> list[str]:
    seeds = ", ".join(str(s) for s in r.seeds)
    lines = [
        f"search {r.search!r}{kind_note}, budget {r.budget}: {r.n_evaluations} evaluations of "
        f"{r.n_configurations} configurations, seeds {seeds}",
        f"model: {r.model}",
        f"assumptions: {r.assumptions}",
        f"units: {r.units}; FLOPs in the search's convention ({r.flops_label})",
        f"standard errors: {r.se_rule}",
        f"failures: {failure_text(r.failures)}",
    ]
    if r.fixed:
        lines.append(f"not modelled (one alpha in every evaluation): {', '.join(r.fixed)}")
    if r.without_flops:
        lines.append(f"left out: {r.without_flops} evaluations of configurations without a FLOP count")
    return lines


def failure_text(f: Failures) -> str:
    rule = f"rule: {f.rule}; threshold {f.threshold:.1f}% validation accuracy"
    if not f.failed:
        return f"none of {f.total} evaluations ({rule})"
    worst = sorted((c for c in f.by_alpha if c.failed), key=lambda c: -c.failed / c.total)[:3]
    rates = ", ".join(f"{c.parameter} at {alpha_text(c.alpha)}: {c.failed} of {c.total}" for c in worst)
    return (f"{f.failed} of {f.total} evaluations in {len(f.trials)} configurations left out ({rule}); "
            f"most often at {rates}")


def _effect_row(e: Effect) -> dict[str, Any]:
    return {"parameter": e.parameter, "alpha": alpha_text(e.alpha), "effect": f"{e.estimate:+.2f}",
            "SE": f"{e.se:.2f}", "95% CI": f"[{e.ci_low:+.2f}, {e.ci_high:+.2f}]", "p": p_text(e.p),
            "Holm p": p_text(e.p_holm), "detectable": f"{e.detectable:.2f}"}


def _test_row(t: ParameterTest) -> dict[str, Any]:
    return {"parameter": t.parameter, "chi2": f"{t.statistic:.2f}", "df": t.df, "p": p_text(t.p),
            "Holm p": p_text(t.p_holm), "covariance": t.covariance}


def parameter_lines(r: EffectsResult) -> list[str]:
    """One plain-language line per parameter, in the space's order."""
    return [parameter_line(t, [e for e in r.effects if e.parameter == t.parameter]) for t in r.parameters]


def parameter_line(t: ParameterTest, effects: list[Effect]) -> str:
    if t.p_holm >= 0.05 and not any(e.significant for e in effects):
        suggest = [e for e in effects if e.p < 0.05]
        tail = (f"; alpha {alpha_text(suggest[0].alpha)} alone: {_effect_words(suggest[0])}, not significant "
                "after Holm") if suggest else ""
        return (f"{t.parameter}: no detectable effect (Wald p {p_text(t.p)}, Holm {p_text(t.p_holm)}; it would have "
                f"shown one of +/-{t.detectable:.1f} points at 80% power){tail}")
    words = "; ".join(f"alpha {alpha_text(e.alpha)} {_effect_words(e)}" for e in effects)
    return f"{t.parameter} matters (Wald p {p_text(t.p)}, Holm {p_text(t.p_holm)}): {words}"


def _effect_words(e: Effect) -> str:
    verb = "costs" if e.estimate < 0 else "adds"
    against = "" if e.reference == 0 else f" against alpha {alpha_text(e.reference)} (no evaluation at 0)"
    return (f"{verb} {abs(e.estimate):.2f} +/- {e.se:.2f} points of validation accuracy at equal FLOPs{against} "
            f"(p {p_text(e.p)}, Holm {p_text(e.p_holm)})")


def diagnostic_lines(r: EffectsResult) -> list[str]:
    return [_spread_line(r.diagnostics), cv_line(r.diagnostics), additivity_line(r.additivity)]


def _spread_line(d: Diagnostics) -> str:
    line = f"residual SD {d.residual_sd:.2f} points"
    if d.seed_sd is None:
        return line + " (no configuration has two evaluations: the seed SD is unmeasured)"
    return (f"{line} against a pooled seed SD of {d.seed_sd:.2f} points (the SD of evaluations within a "
            f"configuration, {d.seed_groups} configurations with repeats)")


def cv_line(d: Diagnostics) -> str:
    cv = d.cv
    if cv is None:
        return f"leave-one-seed-out: not run: {d.cv_note}"
    verdict = ("the model predicts a new seed better than the means" if cv.model_wins else
               "the means predict better: the model misses structure the configurations carry "
               "(interactions, or a FLOPs curve the quadratic does not follow)")
    skipped = f" (skipped: {'; '.join(cv.skipped)})" if cv.skipped else ""
    return (f"leave-one-seed-out RMSE over {cv.n_predicted} held-out evaluations (seeds "
            f"{', '.join(map(str, cv.folds))}): model {cv.rmse_model:.2f} points, per-configuration means of "
            f"the other seeds {cv.rmse_means:.2f} points: {verdict}{skipped}")


def additivity_line(a: Additivity) -> str:
    if not a.tested:
        return f"interactions: not modelled; not tested: {a.note}"
    df1, df2 = a.df or (0, 0)
    finding = ("the effects do not add up: each is an average over the other parameters' alphas"
               if (a.p or 1) < 0.05 else "no sign that the effects do not add up")
    return (f"interactions: not modelled; the {a.terms} pairwise interaction terms together: "
            f"F({df1}, {df2}) = {a.statistic:.2f}, p {p_text(a.p or 1)}: {finding}")


def finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    return value


def result_json(r: EffectsResult) -> dict[str, Any]:
    """Every number of the result (points, multiply-adds), with the words of the text."""
    return finite({**asdict(r), "effect_unit": POINTS, "in_words": parameter_lines(r),
                    "diagnostics_in_words": diagnostic_lines(r)})


def effect_rows(r: EffectsResult) -> list[dict[str, Any]]:
    """One CSV row per effect, with its parameter's Wald test (units: points, see ``effect_unit``)."""
    tests = {t.parameter: t for t in r.parameters}
    return [finite({"search": r.search, "budget": r.budget, **asdict(e),
                     "parameter_wald_p": tests[e.parameter].p, "parameter_wald_p_holm": tests[e.parameter].p_holm,
                     "effect_unit": POINTS}) for e in r.effects]


def effects_summary(r: EffectsResult) -> str:
    """The effects found so far in one clause: the significant ones after Holm (effects, then
    parameters whose Wald test is), or the smallest effect the data could have detected."""
    found = [f"{e.parameter} at alpha {alpha_text(e.alpha)} {e.estimate:+.2f} ± {e.se:.2f} (Holm p {p_text(e.p_holm)})"
             for e in r.effects if e.significant]
    if not found:
        found = [f"{t.parameter} matters (Wald Holm p {p_text(t.p_holm)})" for t in r.parameters if t.p_holm < 0.05]
    if found:
        return "resolved after Holm at 5%: " + "; ".join(found)
    if not r.effects:
        return "none resolved yet: no parameter varies in these evaluations"
    smallest = min(e.detectable for e in r.effects)
    return (f"none resolved yet: the smallest effect the data could detect is +/-{smallest:.2f} points "
            "(80% power, two-sided 5%)")


def effects_line(db: str | None, name: str, budget: str | None = None) -> str:
    """One closing line for ``launch``: the effects found so far, or why the model cannot be fit
    yet; never raises on the search's state (the analysis' own errors become the line)."""
    from octsearch.analysis import search_effects
    from octsearch.errors import OctsearchError
    from octsearch.store import open_store

    details = f"details: octsearch effects {name}" + (f" --db {db}" if db else "")
    try:
        with open_store(db, create=False, upgrade=False) as store:
            r = search_effects(store, name, budget)
    except OctsearchError as e:  # too few evaluations, constant accuracy, ...: the launch itself stands
        return f"alpha effects at equal FLOPs: not modelled yet ({e}); {details}"
    what = ("alpha effects at equal FLOPs" if r.flops_degree else
            "alpha effects, FLOPs savings included (the alphas fix FLOPs exactly: no FLOPs term)")
    return (f"{what} (model of {r.n_evaluations} evaluations of {r.n_configurations} configurations, budget "
            f"{r.budget}; points of validation accuracy): {effects_summary(r)}; {details}")
