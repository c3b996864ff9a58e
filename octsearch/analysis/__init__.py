"""Models of a search's stored evaluations: which parameters' alphas cost accuracy at equal FLOPs.

Data flow: store -> :mod:`~.evaluations` (one frame, read through the store's facade) ->
:mod:`~.failures` (collapsed trainings set apart) -> :mod:`~.model` (one pooled OLS fit) ->
:mod:`~.effects` (effects, SEs, Holm, Wald tests) and :mod:`~.diagnostics` (residual SD against
seed noise, leave-one-seed-out error), :mod:`~.additivity` (are interactions needed?) ->
:mod:`~.pipeline` (the frozen :class:`EffectsResult`).

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
from octsearch.analysis.pipeline import EffectsResult, analyse, search_effects

__all__ = [
    "Additivity",
    "CrossValidation",
    "Diagnostics",
    "Effect",
    "EffectsResult",
    "Evaluations",
    "FailureCount",
    "Failures",
    "ParameterTest",
    "analyse",
    "read_evaluations",
    "search_effects",
]
