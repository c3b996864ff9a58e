"""The model of a search, end to end: evaluations -> failures set apart -> fit -> effects, tests,
diagnostics. The entry point :func:`search_effects` reads the store and writes nothing;
:func:`fit_search` hands out the fitted model (:class:`SearchModel`) for predictions and contrasts.

Units (:data:`UNITS`): accuracies, effects, SEs and SDs are points of validation accuracy
(percent of the search's validation split); FLOPs are multiply-adds at batch 1 (1 fused
multiply-add = 1 FLOP) in the search's convention.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from octsearch.analysis.additivity import Additivity, check_additivity
from octsearch.analysis.diagnostics import Diagnostics, diagnose
from octsearch.analysis.effects import SE_RULE, Effect, ParameterTest, effects_of, parameter_tests
from octsearch.analysis.evaluations import Evaluations, read_evaluations
from octsearch.analysis.failures import Failures, split_failures
from octsearch.analysis.model import Fitted, fit

if TYPE_CHECKING:
    import pandas as pd

    from octsearch.store import Store

UNITS = ("points of validation accuracy (percent of the validation split); FLOPs = multiply-adds "
         "at batch 1, 1 fused multiply-add = 1 FLOP")
ASSUMPTIONS = ("additive effects (no interactions), a smooth FLOPs term, a seed block term; "
               "evaluations of one configuration may be correlated (clustered by configuration)")


@dataclass(frozen=True)
class EffectsResult:
    """The model of ``search`` at ``budget``: ``effects`` per parameter and alpha and one
    ``parameters`` test each (space order), fit on ``n_evaluations`` evaluations of
    ``n_configurations`` configurations; ``params`` every searched parameter (space order),
    ``fixed`` those with one alpha in the data. ``model`` is the fitted formula in words."""

    search: str
    kind: str
    budget: str
    flops_key: str
    flops_label: str
    params: tuple[str, ...]
    fixed: tuple[str, ...]
    n_evaluations: int
    n_configurations: int
    seeds: tuple[int, ...]
    flops_degree: int
    model: str
    effects: tuple[Effect, ...]
    parameters: tuple[ParameterTest, ...]
    failures: Failures
    diagnostics: Diagnostics
    additivity: Additivity
    without_flops: int = 0
    units: str = UNITS
    assumptions: str = ASSUMPTIONS
    se_rule: str = SE_RULE


def search_effects(store: Store, search: str, budget: str | None = None) -> EffectsResult:
    """Fit the model on every evaluation of ``search`` at ``budget`` (default: the budget with the
    most evaluations). Reads only."""
    return analyse(read_evaluations(store, search, budget))


@dataclass(frozen=True)
class SearchModel:
    """One fitted model of a search and what it was fit on: ``evaluations`` (every one read),
    ``kept`` (those modelled: failures left out) and ``what`` (the data in words, for errors).
    The handle for predictions and contrasts (:mod:`octsearch.analysis.predict`)."""

    evaluations: Evaluations
    kept: pd.DataFrame
    failures: Failures
    fitted: Fitted
    what: str


def fit_search(evaluations: Evaluations) -> SearchModel:
    """Fit the model of these evaluations (failures counted and left out; see
    :mod:`octsearch.analysis.failures`). One-line ConfigErrors where the data cannot carry it."""
    e = evaluations
    kept, failures = split_failures(e.frame, e.params, e.chance)
    what = f"search {e.search!r} at budget {e.budget!r}"
    if failures.failed:
        what += f" ({failures.failed} failed evaluations left out)"
    return SearchModel(e, kept, failures, fit(kept, e.params, what), what)


def analyse(evaluations: Evaluations) -> EffectsResult:
    """The model of these evaluations, with its effects, tests and diagnostics."""
    return effects_result(fit_search(evaluations))


def effects_result(model: SearchModel) -> EffectsResult:
    """The effects, tests and diagnostics of a fitted model."""
    e, kept, fitted = model.evaluations, model.kept, model.fitted
    effects = effects_of(fitted)
    design = fitted.design
    return EffectsResult(
        search=e.search, kind=e.kind, budget=e.budget, flops_key=e.flops_key, flops_label=e.flops_label,
        params=e.params, fixed=design.fixed, n_evaluations=len(kept),
        n_configurations=int(kept["trial"].nunique()), seeds=design.seeds, flops_degree=design.flops_degree,
        model=model_text(design.flops_degree, e.flops_label), effects=effects,
        parameters=parameter_tests(fitted, effects), failures=model.failures,
        diagnostics=diagnose(fitted, kept, e.params), additivity=check_additivity(fitted),
        without_flops=e.without_flops,
    )


def model_text(flops_degree: int, flops_label: str) -> str:
    """The model in words: 'OLS: accuracy (points) ~ quadratic in log FLOPs (conv+fc ...) + ...'."""
    flops = f"log FLOPs ({flops_label} multiply-adds)"
    term = {
        2: f"quadratic in {flops}",
        1: f"linear in {flops} (the quadratic term dropped: the alphas fix FLOPs too closely to separate it)",
        0: "no FLOPs term (the alphas fix FLOPs exactly: the effects include what their FLOPs savings cost, "
           "they are not at equal FLOPs)",
    }[flops_degree]
    return (f"OLS: accuracy (points) ~ {term} + one effect per parameter and alpha (treatment-coded against "
            "alpha 0) + seed (block)")
