"""The configuration the model predicts most accurate under a FLOPs budget (``export --model-best``).

Candidates are the configurations the model was fit on (evaluated at its budget, failures left
out): their FLOPs are stored, so nothing here counts FLOPs or imports torch. Among those with at
most ``max_flops`` multiply-adds (the search's convention), the pick is the one with the highest
predicted accuracy (:mod:`~.predict`; ties: the cheaper, then the lower trial). Its margin over the
runner-up is a contrast of the model (points of validation accuracy), so a pick the model cannot
tell from the next one says so.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from octsearch.analysis.pipeline import SearchModel, fit_search, model_text
from octsearch.analysis.predict import Contrast, Prediction, contrast, exog, predict
from octsearch.errors import ConfigError

if TYPE_CHECKING:
    from octsearch.store import Store


class NothingWithin(ConfigError):
    """No configuration the model was fit on has at most ``max_flops`` multiply-adds; ``cheapest``
    is the trial with the fewest, at ``cheapest_flops``."""

    def __init__(self, search: str, max_flops: float, cheapest: int, cheapest_flops: float) -> None:
        super().__init__(f"no configuration of search {search!r} the model was fit on has at most {max_flops:.0f} "
                         f"multiply-adds; the cheapest is trial {cheapest} with {cheapest_flops:.0f}")
        self.search, self.max_flops, self.cheapest, self.cheapest_flops = search, max_flops, cheapest, cheapest_flops


@dataclass(frozen=True)
class ModelPick:
    """The model's pick within ``max_flops`` (multiply-adds) among ``candidates`` configurations:
    its ``prediction`` (points), the mean of its ``n_evaluations`` modelled evaluations
    (``observed``, points), and the ``runner_up`` with the pick's ``margin`` over it (points)."""

    search: str
    trial: int
    budget: str
    flops_key: str
    model: str
    n_evaluations: int
    max_flops: float
    candidates: int
    prediction: Prediction
    observed: float
    n_trial_evaluations: int
    runner_up: Prediction | None = None
    margin: Contrast | None = None


def model_best(store: Store, search: str, max_flops: float, budget: str | None = None) -> ModelPick:
    """The pick of the model of ``search`` at ``budget`` (default: the budget with the most
    evaluations). Reads only; :class:`NothingWithin` when every candidate costs more."""
    from octsearch.analysis.evaluations import read_evaluations

    return best_within(fit_search(read_evaluations(store, search, budget)), max_flops)


def best_within(model: SearchModel, max_flops: float) -> ModelPick:
    e, kept = model.evaluations, model.kept
    configs = kept.drop_duplicates("trial")
    within = configs[configs["flops"] <= max_flops]
    if within.empty:
        cheapest = configs.sort_values(["flops", "trial"]).iloc[0]
        raise NothingWithin(e.search, max_flops, int(cheapest["trial"]), float(cheapest["flops"]))
    ranked = sorted(predict(model.fitted, within), key=lambda p: (-p.predicted, p.flops, p.trial))
    best = ranked[0]
    mine = kept[kept["trial"] == best.trial]["accuracy"]  # candidates are evaluated: trial is set
    pick = ModelPick(e.search, int(best.trial), e.budget, e.flops_key, model_text(model.fitted.design.flops_degree, e.flops_label),
                     len(kept), max_flops, len(within), best, float(mine.mean()), len(mine))
    if len(ranked) == 1:
        return pick
    runner = ranked[1]
    rows = {t: within[within["trial"] == t] for t in (best.trial, runner.trial)}
    vector = (exog(model.fitted, rows[best.trial]) - exog(model.fitted, rows[runner.trial]))[0]
    return replace(pick, runner_up=runner, margin=contrast(model.fitted, vector))
