"""The model of a space fitted on both budgets of a screen and confirm, the budget as a term.

    accuracy (points) ~ smooth in log FLOPs + one effect per parameter and alpha
                        + budget (supernet vs proxy, the reference)

over every stand-alone evaluation of the search (budget ``proxy``) and every supernet score of
its companion (budget ``supernet``): the effects are shared by the two budgets (estimated mostly
from the supernet, which scores every configuration), the budget term is the supernet's offset.
No seed term: the supernet's seed and the confirmation's seed are each one block of their budget.

Built from :mod:`octsearch.analysis`'s pieces (``design_of``, ``model_frame``, ``separable`` with the
budget as an extra term, ``effects_of``): its own fit takes one search at one budget. Units: points
of validation accuracy (percent of the validation split, the same split at both budgets); FLOPs
multiply-adds at batch 1 in the search's convention.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from octsearch.errors import ConfigError
from octsearch.supernet.settings import SUPERNET_BUDGET

if TYPE_CHECKING:
    import pandas as pd

    from octsearch.analysis import Effect
    from octsearch.analysis.model import Fitted
    from octsearch.store import Store

BUDGET_TERM = "C(budget, Treatment('proxy'))"
BUDGET_COLUMN = f"{BUDGET_TERM}[T.{SUPERNET_BUDGET}]"


@dataclass(frozen=True)
class BudgetModel:
    """``offset``: supernet minus stand-alone accuracy at equal configuration (points) with its
    ``offset_se`` and two-sided ``offset_p``; ``effects`` as :class:`octsearch.analysis.Effect`
    (points at equal FLOPs, against alpha 0, Holm over the effects); ``n`` evaluations by budget."""

    formula: str
    flops_degree: int
    n: dict[str, int]
    n_configurations: int
    offset: float
    offset_se: float
    offset_p: float
    effects: tuple[Effect, ...]


def two_budget_frame(store: Store, search: str, companion: str) -> tuple[pd.DataFrame, tuple[str, ...], float]:
    """The analysis frames of both budgets stacked, a ``budget`` column added, ``trial`` made the
    configuration (the two searches number their trials apart); also the parameters and chance."""
    import pandas as pd

    from octsearch.analysis import read_evaluations

    parts = []
    for name, budget in ((search, "proxy"), (companion, SUPERNET_BUDGET)):
        e = read_evaluations(store, name, budget)
        keys = {t.number: t.configuration.key for t in store.trials(name)}
        parts.append(e.frame.assign(budget=budget, trial=e.frame["trial"].map(keys)))
    frame = pd.concat(parts, ignore_index=True)
    frame["trial"] = pd.factorize(frame["trial"])[0]
    return frame, e.params, e.chance


def fit_both_budgets(store: Store, search: str, companion: str) -> BudgetModel:
    """Fit the model (module docstring); one-line ConfigErrors where the data cannot carry it."""
    from octsearch.analysis.effects import effects_of
    from octsearch.analysis.failures import split_failures
    from octsearch.analysis.model import (
        MIN_SPARE,
        Fitted,
        check_accuracies,
        design_of,
        model_frame,
        separable,
    )

    frame, params, chance = two_budget_frame(store, search, companion)
    kept, _ = split_failures(frame, params, chance)  # collapsed trainings say nothing of the alphas
    what = f"searches {search!r} (proxy) and {companion!r} (supernet)"
    check_accuracies(kept, what)
    # No seed term: each budget's seed is one block of that budget, which the budget term takes.
    design = replace(design_of(kept, params), seeds=(0,))
    terms = design.n_terms + 1  # and the budget
    if len(kept) < terms + MIN_SPARE:
        raise ConfigError(f"{what}: {len(kept)} evaluations for a model of {terms} terms; it needs at least "
                          f"{terms + MIN_SPARE}: {terms + MIN_SPARE - len(kept)} more")
    data = model_frame(kept, design)
    try:
        design, model = separable(data, design, what, extra=(BUDGET_TERM,))
    except ConfigError:
        raise ConfigError(f"{what}: the alphas and the budget move together in these configurations; no term can "
                          "be told from another") from None
    formula = model.formula
    fitted = Fitted(design, data, model.fit(),
                    model.fit(cov_type="cluster", cov_kwds={"groups": data["trial"].to_numpy()}))
    return _result(fitted, formula, kept, effects_of(fitted))


def _result(fitted: Fitted, formula: str, kept: pd.DataFrame, effects: tuple[Effect, ...]) -> BudgetModel:
    """The budget term's estimate (the SE rule of :mod:`octsearch.analysis.effects`) and the rest."""
    from scipy.stats import norm

    from octsearch.analysis.effects import larger_se

    estimate = float(fitted.classic.params[BUDGET_COLUMN])
    se = larger_se(float(fitted.cluster.bse[BUDGET_COLUMN]), float(fitted.classic.bse[BUDGET_COLUMN]))
    counts = {str(b): int(n) for b, n in kept["budget"].value_counts().items()}
    return BudgetModel(formula, fitted.design.flops_degree, counts, int(kept["trial"].nunique()), estimate, se,
                       float(2 * norm.sf(abs(estimate / se))), effects)
