"""Each parameter's effect per alpha, and whether the parameter matters at all, from a fitted model.

Units: effects, standard errors, confidence limits and detectable effects are points of
validation accuracy (percent of the validation split) at equal FLOPs, against the parameter's
reference alpha (alpha 0 wherever the data hold it); see :mod:`octsearch.analysis.model`.

Standard errors (:data:`SE_RULE`): the larger of the cluster-robust one (by configuration, CR1)
and the classic OLS one, per coefficient. Cluster-robust errors guard against configurations that
sit off the additive model (their seeds share the deviation), but CR1 runs small at this size: on
2,000 planted tables of 81 configurations x 2 seeds it put 93.3% of the effects within 2 SE of the
truth, and Holm let 5.4% of 1,000 null tables through, against 96.0% and 2.6% for the larger of
the two; a calibrated 2-SE interval holds 95.4% (bench/effects_mnist81.py, figures in
bench/results/effects_mnist81.md; tests/analysis/test_planted_effects.py checks it).
The per-parameter Wald test is run with each covariance and keeps the larger p value. p values are
two-sided normal; Holm corrects over every effect of the model (and, separately, over the
parameters' Wald tests).

Smallest detectable effect: (z_0.975 + z_0.8) x SE, the effect a two-sided 5% test would find
with 80% power.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from octsearch.analysis.model import Fitted

LEVEL = 0.05
POWER = 0.8
SE_RULE = ("SE = the larger of the cluster-robust (by configuration, CR1) and the classic OLS standard "
           "error, per coefficient (the classic one where too few configurations leave the cluster-robust one "
           "undefined); Wald tests keep the larger p of the two covariances")


def stage_of(parameter: str) -> str:
    """The network part a parameter belongs to: its name up to the first dot ('stage2.out' -> 'stage2')."""
    return parameter.split(".", 1)[0]


@dataclass(frozen=True)
class Effect:
    """One alpha of one parameter against its ``reference`` alpha, in points at equal FLOPs."""

    parameter: str
    stage: str
    alpha: float
    reference: float
    estimate: float
    se: float
    se_cluster: float
    se_classic: float
    z: float
    p: float
    p_holm: float
    ci_low: float
    ci_high: float
    detectable: float

    @property
    def significant(self) -> bool:
        return self.p_holm < LEVEL


@dataclass(frozen=True)
class ParameterTest:
    """Does the parameter matter at all: the Wald test that all its effects are 0 (chi-square on
    ``df`` degrees of freedom, under ``covariance``: the one giving the larger p). ``detectable``
    is the largest of its alphas' detectable effects (points)."""

    parameter: str
    stage: str
    df: int
    statistic: float
    p: float
    p_holm: float
    covariance: str
    detectable: float


def larger_se(se_cluster: float, se_classic: float) -> float:
    """The SE rule: the larger of the two, the classic one where the cluster-robust one is not a
    number (a covariance that is not positive definite, with few configurations)."""
    return max(se_cluster, se_classic) if math.isfinite(se_cluster) else se_classic


def detectable(se: float, level: float = LEVEL, power: float = POWER) -> float:
    """The smallest effect a two-sided test at ``level`` detects with ``power``: (z_{1-level/2} + z_power) SE."""
    from scipy.stats import norm

    return float((norm.ppf(1 - level / 2) + norm.ppf(power)) * se)


def effects_of(fitted: Fitted) -> tuple[Effect, ...]:
    """Every non-reference alpha's effect, in the space's parameter order, Holm-corrected together."""
    from scipy.stats import norm
    from statsmodels.stats.multitest import multipletests

    design, est = fitted.design, fitted.classic.params
    rows = []
    for column, (param, alpha) in design.columns.items():
        se_cluster, se_classic = float(fitted.cluster.bse[column]), float(fitted.classic.bse[column])
        se = larger_se(se_cluster, se_classic)
        z = float(est[column]) / se
        rows.append((param, alpha, float(est[column]), se, se_cluster, se_classic, z, float(2 * norm.sf(abs(z)))))
    holm = multipletests([r[-1] for r in rows], method="holm")[1] if rows else []
    half = float(norm.ppf(1 - LEVEL / 2))
    return tuple(
        Effect(param, stage_of(param), alpha, design.levels[param][0], e, se, sc, sk, z, p, float(h),
               e - half * se, e + half * se, detectable(se))
        for (param, alpha, e, se, sc, sk, z, p), h in zip(rows, holm, strict=True)
    )


def parameter_tests(fitted: Fitted, effects: tuple[Effect, ...]) -> tuple[ParameterTest, ...]:
    """One Wald test per parameter (all its alphas' effects 0), Holm-corrected over the parameters."""
    from statsmodels.stats.multitest import multipletests

    names = list(fitted.classic.model.exog_names)
    tests = []
    for param in fitted.design.params:
        columns = [c for c, (p, _) in fitted.design.columns.items() if p == param]
        r_matrix = np.zeros((len(columns), len(names)))
        for row, column in enumerate(columns):
            r_matrix[row, names.index(column)] = 1.0
        results = {kind: getattr(fitted, kind).wald_test(r_matrix, scalar=True, use_f=False)
                   for kind in ("cluster", "classic")}
        kind = max(results, key=lambda k: float(results[k].pvalue))
        worst = max(e.detectable for e in effects if e.parameter == param)
        tests.append((param, len(columns), float(results[kind].statistic), float(results[kind].pvalue), kind, worst))
    holm = multipletests([t[3] for t in tests], method="holm")[1] if tests else []
    return tuple(ParameterTest(param, stage_of(param), df, stat, p, float(h), kind, worst)
                 for (param, df, stat, p, kind, worst), h in zip(tests, holm, strict=True))
