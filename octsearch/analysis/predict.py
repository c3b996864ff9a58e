"""Predictions and linear contrasts of the pooled model, for any configuration at given FLOPs.

A *prediction* is the model's mean validation accuracy of one configuration (points: percent of
the validation split) at its FLOPs (multiply-adds at batch 1, the search's convention), at the mean
of the fitted seeds' block effects (no seed is anyone's own). It exists for every configuration
whose varied parameters sit at alphas the model estimated and whose fixed parameters at the one
alpha they had, evaluated or not; :func:`unpredicted` says why one is not. FLOPs outside the range
the model was fit on extrapolate the quadratic FLOPs term: :attr:`Prediction.extrapolated`.

The rows of the model's matrix come from the fit's own formula (statsmodels' model spec, patsy or
formulaic), one per fitted seed, averaged: a contrast vector. Means and SEs come from statsmodels
(``get_prediction``, ``t_test``) under each fit's covariance; the SE kept is the larger of the
cluster-robust and the classic one, as for the effects (:data:`octsearch.analysis.effects.SE_RULE`).
p values are two-sided normal.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from octsearch.analysis.effects import larger_se
from octsearch.analysis.model import model_frame

if TYPE_CHECKING:
    import pandas as pd

    from octsearch.analysis.model import Fitted


@dataclass(frozen=True)
class Prediction:
    """The model's mean accuracy of ``alphas`` (parameter -> alpha) at ``flops``, in points, with
    its SE; ``trial`` is the configuration's trial where it was evaluated."""

    alphas: tuple[tuple[str, float], ...]
    flops: float
    predicted: float
    se: float
    se_cluster: float
    se_classic: float
    extrapolated: bool
    trial: int | None = None


@dataclass(frozen=True)
class Contrast:
    """A linear contrast of the model's coefficients: ``estimate`` (points) and its SEs, z, p."""

    estimate: float
    se: float
    se_cluster: float
    se_classic: float
    z: float
    p: float


def modelled_alphas(fitted: Fitted) -> dict[str, tuple[float, ...]]:
    """Each parameter's alphas the model can predict: the estimated ones, or a fixed one's only alpha."""
    data = fitted.data
    fixed = {p: (float(data[p].dropna().iloc[0]),) for p in fitted.design.fixed if data[p].notna().any()}
    return {**fixed, **fitted.design.levels}


def unpredicted(fitted: Fitted, alphas: Mapping[str, float]) -> str | None:
    """Why the model cannot predict ``alphas`` (one sentence), or None when it can."""
    for param, known in modelled_alphas(fitted).items():
        alpha = alphas.get(param)
        if alpha not in known:
            shown = ", ".join(f"{a:g}" for a in known)
            return f"{param} at alpha {alpha} was never modelled (its modelled alphas: {shown})"
    return None


def exog(fitted: Fitted, rows: pd.DataFrame) -> np.ndarray:
    """The model's matrix rows for ``rows`` (a parameter column each, and ``flops``), averaged over
    the fitted seeds: the fit's own formula applied to new data."""
    spec = fitted.classic.model.data.model_spec
    matrices = [_matrix(spec, model_frame(rows.assign(seed=seed), fitted.design)) for seed in fitted.design.seeds]
    return np.mean(matrices, axis=0)


def _matrix(spec: Any, data: pd.DataFrame) -> np.ndarray:
    if hasattr(spec, "get_model_matrix"):  # formulaic's ModelSpec
        return np.asarray(spec.get_model_matrix(data), dtype=float)
    import patsy  # patsy's DesignInfo, statsmodels' default engine

    return np.asarray(patsy.build_design_matrices([spec], data)[0], dtype=float)


def predict(fitted: Fitted, rows: pd.DataFrame) -> tuple[Prediction, ...]:
    """Every row's prediction (rows the model can predict only: see :func:`unpredicted`); a
    ``trial`` column, where present, names the evaluated ones."""
    if rows.empty:
        return ()
    x = exog(fitted, rows)
    with np.errstate(invalid="ignore"):  # a cluster-robust covariance that is not positive definite: nan
        classic = fitted.classic.get_prediction(exog=x, transform=False)
        cluster = fitted.cluster.get_prediction(exog=x, transform=False)
    flops = fitted.data["flops"].to_numpy(dtype=float)
    params = [c for c in fitted.data.columns if c in modelled_alphas(fitted)]  # the space's order
    out = []
    for i, row in enumerate(rows.to_dict("records")):
        se_cluster, se_classic = float(cluster.se_mean[i]), float(classic.se_mean[i])
        trial = row.get("trial")
        out.append(Prediction(
            tuple((p, float(row[p])) for p in params), float(row["flops"]), float(classic.predicted_mean[i]),
            larger_se(se_cluster, se_classic), se_cluster, se_classic,
            not flops.min() <= float(row["flops"]) <= flops.max(),
            None if trial is None or np.isnan(trial) else int(trial)))
    return tuple(out)


def contrast(fitted: Fitted, vector: np.ndarray) -> Contrast:
    """The linear combination ``vector`` . coefficients under both covariances (statsmodels'
    ``t_test``), with the larger SE; z and a two-sided normal p."""
    from scipy.stats import norm

    with np.errstate(invalid="ignore"):
        tests = {kind: getattr(fitted, kind).t_test(np.atleast_2d(vector)) for kind in ("cluster", "classic")}
    estimate = float(np.squeeze(tests["classic"].effect))
    se_cluster, se_classic = (float(np.squeeze(tests[k].sd)) for k in ("cluster", "classic"))
    se = larger_se(se_cluster, se_classic)
    z = estimate / se if se > 0 else 0.0
    return Contrast(estimate, se, se_cluster, se_classic, z, float(2 * norm.sf(abs(z))))
