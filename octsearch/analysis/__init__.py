"""Models of a search's stored evaluations: which parameters' alphas cost accuracy at equal FLOPs.

Data flow: store -> :mod:`~.evaluations` (one frame, read through the store's facade) ->
:mod:`~.failures` (collapsed trainings set apart) -> :mod:`~.model` (one pooled OLS fit) ->
:mod:`~.effects` (effects, SEs, Holm, Wald tests) and :mod:`~.diagnostics` (residual SD against
seed noise, leave-one-seed-out error), :mod:`~.additivity` (are interactions needed?) ->
:mod:`~.pipeline` (the frozen :class:`EffectsResult`; :func:`fit_search` hands out the fitted
:class:`SearchModel`) -> :mod:`~.predict` (any configuration's predicted accuracy +/- SE, linear
contrasts) -> :mod:`~.versus_curve` (each front member against the uniform-alpha curve at its FLOPs)
and :mod:`~.pick` (the configuration predicted best under a FLOPs budget).

Imports neither torch nor ray; statsmodels, scipy and pandas load when a model is fit. Only the
CLI formats the result for people. Entry point::

    with open_store(url) as store:
        result = search_effects(store, "mnist81")   # -> EffectsResult
"""

from __future__ import annotations

from octsearch.analysis.additivity import Additivity
from octsearch.analysis.diagnostics import CrossValidation, Diagnostics
from octsearch.analysis.effects import Effect, ParameterTest
from octsearch.analysis.evaluations import Evaluations, read_evaluations
from octsearch.analysis.failures import FailureCount, Failures
from octsearch.analysis.pick import ModelPick, NothingWithin, model_best
from octsearch.analysis.pipeline import (
    EffectsResult,
    SearchModel,
    analyse,
    fit_search,
    search_effects,
)
from octsearch.analysis.predict import Contrast, Prediction, predict
from octsearch.analysis.versus_curve import CurveContrast, CurveVerdict, versus_uniform_curve

__all__ = [
    "Additivity",
    "Contrast",
    "CrossValidation",
    "CurveContrast",
    "CurveVerdict",
    "Diagnostics",
    "Effect",
    "EffectsResult",
    "Evaluations",
    "FailureCount",
    "Failures",
    "ModelPick",
    "NothingWithin",
    "ParameterTest",
    "Prediction",
    "SearchModel",
    "analyse",
    "fit_search",
    "model_best",
    "predict",
    "read_evaluations",
    "search_effects",
    "versus_uniform_curve",
]
