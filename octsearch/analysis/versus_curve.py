"""The model-based verdict against uniform alpha: each front member against the uniform curve at
its own FLOPs, as a linear contrast of the pooled model.

Definition (:data:`DEFINITION`). The uniform curve at FLOPs f is what the model predicts for a
network of FLOPs f whose alpha effects are the uniform configurations', interpolated linearly in
log FLOPs between the two evaluated uniform points whose FLOPs bracket f (``lower``: the cheaper,
``upper``: the costlier; ``weight`` is the upper point's share). A member m at FLOPs f_m is judged
by

    contrast(m) = prediction(m) - curve(f_m)
                = effects(m) - [(1 - weight) effects(lower) + weight effects(upper)],

where effects(c) is the sum of c's alpha effects: the FLOPs term and the seed terms are the same
on both sides (the member's FLOPs, the mean seed) and cancel. Units: points of validation accuracy
(percent of the validation split) at equal FLOPs. Its SE is statsmodels' ``t_test`` of that
contrast under each covariance, the larger kept (as for the effects); p is two-sided normal, and
Holm corrects over the members compared.

A uniform member is compared with nothing (its contrast is 0 by definition); a member outside the
evaluated uniform points' FLOPs range has no uniform network to interpolate (``outside``); one
with an alpha the model never estimated cannot be predicted (``unpredicted``). A model without a
FLOPs term (the alphas fix FLOPs exactly) cannot compare at equal FLOPs: a one-line ConfigError.

What it rests on (:data:`ASSUMPTIONS`): effects that add up (the interaction F-test of
:mod:`~.additivity` checks it), a FLOPs curve the quadratic follows, uniform effects that move in a
straight line between uniform points, and a model that predicts a new seed better than the
configurations' own means (the leave-one-seed-out error of :mod:`~.diagnostics`). Unlike the
pairwise test (:mod:`octsearch.store.versus_uniform`), it borrows strength from every evaluation.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Literal

from octsearch.analysis.pipeline import SearchModel, effects_result, fit_search
from octsearch.analysis.predict import contrast, exog, predict, unpredicted
from octsearch.errors import ConfigError

if TYPE_CHECKING:
    import pandas as pd

    from octsearch.analysis.additivity import Additivity
    from octsearch.analysis.diagnostics import Diagnostics
    from octsearch.store import Store

LEVEL = 0.05
DEFINITION = ("contrast = the model's predicted accuracy of the member minus that of the uniform-alpha curve at the "
              "member's FLOPs (the uniform points' alpha effects interpolated linearly in log FLOPs between the two "
              "that bracket it; FLOPs and seed terms cancel), in points of validation accuracy at equal FLOPs; SE "
              "from the model's covariance (t_test of the linear contrast, the larger of cluster-robust and classic); "
              "two-sided normal p, Holm over the members compared")
ASSUMPTIONS = ("additive alpha effects (no interactions), a FLOPs curve the model's FLOPs term follows, "
               "uniform effects linear in log FLOPs between uniform points")

CurveKind = Literal["compared", "uniform", "outside", "unpredicted"]


@dataclass(frozen=True)
class CurveContrast:
    """One front member against the uniform curve at its FLOPs (multiply-adds). ``predicted``
    (points) is the member's predicted accuracy; ``lower``/``upper`` the uniform alphas of the
    bracketing points; ``estimate`` etc. the contrast in points; ``note`` why it was not compared."""

    trial: int
    flops: float
    kind: CurveKind
    predicted: float | None = None
    predicted_se: float | None = None
    lower: float | None = None
    upper: float | None = None
    weight: float | None = None
    estimate: float | None = None
    se: float | None = None
    se_cluster: float | None = None
    se_classic: float | None = None
    z: float | None = None
    p: float | None = None
    p_holm: float | None = None
    note: str = ""

    @property
    def significant(self) -> bool:
        return self.p_holm is not None and self.p_holm < LEVEL


@dataclass(frozen=True)
class CurveVerdict:
    """Every front member's model-based contrast, and the model's own credentials: its formula in
    words, what it was fit on, its leave-one-seed-out error and the interaction test."""

    search: str
    budget: str
    flops_key: str
    flops_label: str
    model: str
    n_evaluations: int
    n_configurations: int
    uniforms: tuple[tuple[float, float], ...]  # (alpha, FLOPs in multiply-adds) of the curve's points
    contrasts: tuple[CurveContrast, ...]
    diagnostics: Diagnostics
    additivity: Additivity
    definition: str = DEFINITION
    assumptions: str = ASSUMPTIONS
    level: float = LEVEL

    @property
    def compared(self) -> tuple[CurveContrast, ...]:
        return tuple(c for c in self.contrasts if c.kind == "compared")


def versus_uniform_curve(store: Store, search: str, budget: str | None = None) -> CurveVerdict:
    """The model-based verdict of the front of ``search`` at ``budget`` (default: the budget with
    the most evaluations). Reads only; one-line ConfigErrors where the model cannot be fit or the
    search has no uniform point the model can predict."""
    from octsearch.analysis.evaluations import read_evaluations

    model = fit_search(read_evaluations(store, search, budget))
    front = [t.number for t in store.front(search, model.evaluations.budget)]
    return judge_front(model, front)


def judge_front(model: SearchModel, members: list[int]) -> CurveVerdict:
    """The contrast of each trial in ``members`` (evaluated at the model's budget) against the curve."""
    e = model.evaluations
    if model.fitted.design.flops_degree == 0:
        raise ConfigError(f"{model.what}: the alphas fix FLOPs exactly, so the model has no FLOPs term and cannot "
                          "compare configurations at equal FLOPs")
    configs = e.frame.drop_duplicates("trial").set_index("trial", drop=False)
    uniforms = _uniform_points(model, configs)
    if not uniforms:
        raise ConfigError(f"{model.what}: no uniform-alpha configuration the model can predict, so no uniform curve "
                          "to compare the front with (a search evaluates its uniform points first)")
    judged = [_judge(model, configs.loc[[n]], uniforms) for n in members if n in configs.index]
    r = effects_result(model)
    return CurveVerdict(e.search, e.budget, e.flops_key, e.flops_label, r.model, r.n_evaluations, r.n_configurations,
                        tuple((a, f) for a, f, _ in uniforms), _holm(judged), r.diagnostics, r.additivity)


def _uniform_points(model: SearchModel, configs: pd.DataFrame) -> list[tuple[float, float, pd.DataFrame]]:
    """(alpha, FLOPs, the configuration's row) of every predictable uniform configuration, by FLOPs."""
    params = list(model.evaluations.params)
    same = configs[params].nunique(axis=1) == 1
    points = [(float(row[params[0]]), float(row["flops"]), configs.loc[[trial]])
              for trial, row in configs[same].iterrows()
              if unpredicted(model.fitted, {p: row[p] for p in params}) is None]
    return sorted(points, key=lambda u: u[1])


def _judge(model: SearchModel, member: pd.DataFrame, uniforms: list[tuple[float, float, pd.DataFrame]]) -> CurveContrast:
    fitted, params = model.fitted, model.evaluations.params
    row = member.iloc[0]
    trial, flops = int(row["trial"]), float(row["flops"])
    why = unpredicted(fitted, {p: row[p] for p in params})
    if why is not None:
        return CurveContrast(trial, flops, "unpredicted", note=why)
    prediction = predict(fitted, member)[0]
    head = CurveContrast(trial, flops, "compared", prediction.predicted, prediction.se)
    if member[list(params)].nunique(axis=1).iloc[0] == 1:
        return replace(head, kind="uniform", note="uniform itself: on the curve by definition")
    cheapest, costliest = uniforms[0][1], uniforms[-1][1]
    if not cheapest <= flops <= costliest:
        return replace(head, kind="outside", note="outside the uniform points' FLOPs range: no uniform network "
                        "at its FLOPs to interpolate")
    upper = min(bisect_left([u[1] for u in uniforms], flops), len(uniforms) - 1)
    lower = max(upper - 1, 0)
    (a_lo, f_lo, lo), (a_hi, f_hi, hi) = uniforms[lower], uniforms[upper]
    weight = 1.0 if f_hi == f_lo else (math.log(flops) - math.log(f_lo)) / (math.log(f_hi) - math.log(f_lo))
    at_member = {"flops": flops}
    vector = (exog(fitted, member) - (1 - weight) * exog(fitted, lo.assign(**at_member))
              - weight * exog(fitted, hi.assign(**at_member)))[0]
    c = contrast(fitted, vector)
    return replace(head, lower=a_lo, upper=a_hi, weight=weight, estimate=c.estimate, se=c.se,
                    se_cluster=c.se_cluster, se_classic=c.se_classic, z=c.z, p=c.p)


def _holm(contrasts: list[CurveContrast]) -> tuple[CurveContrast, ...]:
    """Holm-corrected p over the members compared, in the members' order."""
    from statsmodels.stats.multitest import multipletests

    compared = [i for i, c in enumerate(contrasts) if c.kind == "compared"]
    if not compared:
        return tuple(contrasts)
    adjusted = multipletests([contrasts[i].p for i in compared], method="holm")[1]
    out = list(contrasts)
    for i, p in zip(compared, adjusted, strict=True):
        out[i] = replace(out[i], p_holm=float(p))
    return tuple(out)
