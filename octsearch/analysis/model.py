"""The pooled model of a search: one least-squares fit over every evaluation at a budget.

    accuracy (points) ~ b1 lf + b2 lf^2                     (smooth in FLOPs)
                        + sum over parameters and alphas    (one effect each, vs the lowest alpha)
                        + seed                               (block term)

with ``lf`` the log of FLOPs (multiply-adds, the search's convention) centred on its mean.
Each alpha of a parameter is one indicator column (treatment coding against the parameter's
lowest alpha in the data: alpha 0 wherever the search drew it), so an effect reads as "points of
validation accuracy at equal FLOPs, against alpha 0". Assumptions: effects add up (no
interactions; :mod:`octsearch.analysis.additivity` tests that), FLOPs act through the smooth
term, evaluations of one configuration may be correlated (clustered by configuration).

Fitted with statsmodels' formula API twice over one model: ``fit()`` (the classic covariance)
and ``fit(cov_type="cluster")`` (cluster-robust by configuration, CR1). Where the data cannot
separate the FLOPs term from the effects (the alphas fix FLOPs exactly), the quadratic and then
the linear FLOPs term are dropped, and :attr:`Design.flops_degree` says so.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from octsearch.errors import ConfigError

if TYPE_CHECKING:
    import pandas as pd

FLOPS_TERMS = ("lf", "I(lf ** 2)")
MIN_SPARE = 3  # evaluations beyond the model's terms: a residual variance needs a few


@dataclass(frozen=True)
class Design:
    """What the model holds: ``params`` the parameters it estimates (alphas in ``levels``, the
    reference first), ``fixed`` those with one alpha in the data (nothing to estimate),
    ``columns`` indicator column -> (parameter, alpha)."""

    params: tuple[str, ...]
    fixed: tuple[str, ...]
    levels: dict[str, tuple[float, ...]]
    seeds: tuple[int, ...]
    log_flops_centre: float
    flops_degree: int = 2

    @property
    def columns(self) -> dict[str, tuple[str, float]]:
        return {f"a{i}_{j}": (p, alpha) for i, p in enumerate(self.params)
                for j, alpha in enumerate(self.levels[p]) if j > 0}

    @property
    def n_terms(self) -> int:
        """Intercept, FLOPs terms, one per non-reference alpha, one per seed beyond the first."""
        return 1 + self.flops_degree + len(self.columns) + len(self.seeds) - 1

    @property
    def formula(self) -> str:
        terms = [*FLOPS_TERMS[: self.flops_degree], *self.columns]
        if len(self.seeds) > 1:
            terms.append("C(seed)")
        return "accuracy ~ " + (" + ".join(terms) or "1")

    def terms_text(self) -> str:
        """The terms in words, for the 'too few evaluations' message."""
        return (f"intercept, {self.flops_degree} FLOPs, {len(self.columns)} alpha effects over "
                f"{len(self.params)} parameter(s), {len(self.seeds) - 1} seed")


@dataclass(frozen=True)
class Fitted:
    """The two fits of one model (statsmodels results) and the frame they were fit on."""

    design: Design
    data: pd.DataFrame
    classic: Any
    cluster: Any


def design_of(frame: pd.DataFrame, params: tuple[str, ...]) -> Design:
    """The model's design for these evaluations: every varied parameter, every seed."""
    levels = {p: tuple(sorted(float(a) for a in frame[p].dropna().unique())) for p in params}
    varied = tuple(p for p in params if len(levels[p]) > 1)
    seeds = tuple(sorted(int(s) for s in frame["seed"].unique()))
    centre = float(np.log(frame["flops"].to_numpy(dtype=float)).mean()) if len(frame) else 0.0
    return Design(varied, tuple(p for p in params if p not in varied), {p: levels[p] for p in varied},
                  seeds, centre)


def fit(frame: pd.DataFrame, params: tuple[str, ...], what: str = "these evaluations") -> Fitted:
    """Fit the model on ``frame`` (columns: see :mod:`octsearch.analysis.evaluations`).

    One-line ConfigErrors: non-finite or constant accuracies, too few evaluations for the terms
    (saying how many more), parameters the data cannot tell apart. ``what`` names the data in them.
    """
    check_accuracies(frame, what)
    design = design_of(frame, params)
    need = design.n_terms + MIN_SPARE
    if len(frame) < need:
        raise ConfigError(
            f"{what}: {len(frame)} evaluations for a model of {design.n_terms} terms "
            f"({design.terms_text()}); it needs at least {need}: {need - len(frame)} more")
    data = model_frame(frame, design)
    design, model = separable(data, design, what)
    classic = model.fit()
    cluster = model.fit(cov_type="cluster", cov_kwds={"groups": data["trial"].to_numpy()})
    return Fitted(design, data, classic, cluster)


def check_accuracies(frame: pd.DataFrame, what: str) -> None:
    """Accuracies must be finite and vary, or there is nothing to model."""
    acc = frame["accuracy"].to_numpy(dtype=float)
    bad = acc[~np.isfinite(acc)]
    if bad.size:
        raise ConfigError(f"{what}: {bad.size} of {acc.size} accuracies are not finite ({float(bad[0])!r}); "
                          "the model needs a number for every evaluation")
    if acc.size > 1 and np.ptp(acc) == 0:  # one evaluation: "too few" below says what is needed
        raise ConfigError(f"{what}: every evaluation has validation accuracy {acc[0]:.2f}%: "
                          "a constant accuracy carries no effect to estimate")


def model_frame(frame: pd.DataFrame, design: Design) -> pd.DataFrame:
    """``frame`` with the log FLOPs ``lf`` (centred as the design's data) and one 0/1 column per
    non-reference alpha: the model's own columns, for fitting and for predicting alike."""
    data = frame.reset_index(drop=True).copy()
    data["lf"] = np.log(data["flops"].to_numpy(dtype=float)) - design.log_flops_centre
    for column, (param, alpha) in design.columns.items():
        data[column] = (data[param] == alpha).astype(float)
    return data


def separable(data: pd.DataFrame, design: Design, what: str, extra: tuple[str, ...] = ()) -> tuple[Design, Any]:
    """The design with as many FLOPs terms (2, 1, 0) as the data can tell from the effects, and
    its statsmodels OLS model; ``extra``: further formula terms (a budget, say), always kept."""
    import statsmodels.formula.api as smf

    for degree in (2, 1, 0):
        candidate = replace(design, flops_degree=degree)
        model = smf.ols(candidate.formula + "".join(f" + {term}" for term in extra), data=data)
        if np.linalg.matrix_rank(model.exog) == model.exog.shape[1]:
            return candidate, model
    raise ConfigError(f"{what}: the parameters' alphas move together in these configurations "
                      f"({', '.join(design.params)}), so no effect can be told from another")

