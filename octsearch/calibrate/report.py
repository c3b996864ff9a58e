"""What each rung of a stored pilot resolves, and the cheapest rung that resolves the target.

Per rung (its evaluations read through the store's facade; nothing is written):

- ``seed_sd``: the pooled SD of evaluations within a configuration (points of validation accuracy;
  every evaluation, training failures included: they are seed noise a search meets), with its 95%
  confidence interval (chi-square on the pooled degrees of freedom, scipy): a pilot of a dozen
  configurations pins it to within about +/-30%, and every figure below scales with it;
- ``tau``: seed-to-seed Kendall tau-b (scipy) of the configurations' accuracies, one per pair of
  seeds over the configurations both hold, averaged over the pairs;
- ``se_search``: the standard error of the pooled model's alpha effects (points at equal FLOPs)
  from a search of ``trials`` evaluations at this rung: ``seed_sd`` x the design's SE per unit noise
  (:mod:`octsearch.calibrate.resolution`: the best case, a balanced search, the additive model fits);
- ``resolves``: 2 x ``se_search`` (the effect such a search pins to within 2 SE) and
  ``detectable``, the effect a two-sided 5% test finds with 80% power, 2.8 x ``se_search``;
- ``trials_needed``: the search size at which ``resolves`` reaches the target, taking the SE to
  shrink as 1/sqrt(trials);
- ``seconds``: the mean training wall seconds per evaluation (the CPU of a Ray task, on the machine
  that ran the pilot; evaluation and Ray's overhead not included).

A rung resolves the target (default +/-0.5 points) when ``2 x se_search <= target``; the
recommendation is the resolving rung with the fewest seconds per evaluation. Where none does, the
rung with the smallest ``se_search`` and the trials it would need are reported instead.
"""

from __future__ import annotations

import itertools
import math
import statistics
from dataclasses import dataclass
from typing import TYPE_CHECKING

from octsearch.errors import ConfigError

if TYPE_CHECKING:
    import pandas as pd

    from octsearch.store import Store

DEFAULT_TARGET = 0.5  # points of validation accuracy
SE_PER_TARGET = 2.0  # a target is resolved at SE <= target / 2
UNITS = ("points of validation accuracy (percent of the validation split); effects at equal FLOPs "
         "(multiply-adds, the space's convention); seconds: training wall time per evaluation on the CPU "
         "of one Ray task")


@dataclass(frozen=True)
class RungFigures:
    """One rung's figures (see the module docstring); ``failures``: evaluations the analysis' rule
    counts as collapsed trainings (:mod:`octsearch.analysis.failures`), kept in the seed SD."""

    label: str
    evaluations: int
    configurations: int
    seeds: int
    n_val: int
    mean_accuracy: float
    seed_sd: float | None
    seed_sd_ci: tuple[float, float] | None
    tau: float | None
    tau_pairs: int
    se_search: float | None
    resolves: float | None
    detectable: float | None
    trials_needed: int | None
    seconds: float
    failures: int = 0


@dataclass(frozen=True)
class Calibration:
    """Every rung of pilot ``pilot`` for a search of ``trials`` evaluations, and the pick."""

    pilot: str
    trials: int
    target: float
    unit_se: float  # the search design's median effect SE per point of noise SD
    rungs: tuple[RungFigures, ...]
    recommended: str | None
    best: str | None  # the rung with the smallest se_search (when none resolves the target)
    units: str = UNITS


def kendall_tau(frame: pd.DataFrame) -> tuple[float | None, int]:
    """Mean Kendall tau-b over seed pairs (configurations both seeds hold), and the pairs counted."""
    from scipy.stats import kendalltau

    wide = frame.pivot_table(index="trial", columns="seed", values="accuracy")
    taus = []
    for a, b in itertools.combinations(wide.columns, 2):
        both = wide[[a, b]].dropna()
        if len(both) >= 3:
            tau = kendalltau(both[a], both[b]).statistic
            if math.isfinite(tau):
                taus.append(float(tau))
    return (statistics.fmean(taus) if taus else None), len(taus)


def sd_interval(sd: float, df: int, level: float = 0.95) -> tuple[float, float]:
    """The ``level`` confidence interval of a pooled SD on ``df`` degrees of freedom (chi-square)."""
    from scipy.stats import chi2

    tail = (1 - level) / 2
    return (sd * math.sqrt(df / chi2.ppf(1 - tail, df)), sd * math.sqrt(df / chi2.ppf(tail, df)))


def rung_figures(store: Store, pilot: str, label: str, trials: int, target: float, unit_se: float) -> RungFigures:
    """The figures of one rung (its evaluations must exist)."""
    from octsearch.analysis import read_evaluations
    from octsearch.analysis.diagnostics import pooled_seed_sd
    from octsearch.analysis.effects import detectable
    from octsearch.analysis.failures import split_failures

    evaluations = read_evaluations(store, pilot, label)
    frame = evaluations.frame
    stored = store.evaluations(pilot, budget=label)
    seed_sd, _ = pooled_seed_sd(frame)
    ci = None if seed_sd is None else sd_interval(seed_sd, int((frame.groupby("trial").size() - 1).sum()))
    tau, pairs = kendall_tau(frame)
    se = None if seed_sd is None else seed_sd * unit_se
    return RungFigures(
        label=label, evaluations=len(frame), configurations=int(frame["trial"].nunique()),
        seeds=int(frame["seed"].nunique()), n_val=int(statistics.median(e.n_val for e in stored)),
        mean_accuracy=float(frame["accuracy"].mean()), seed_sd=seed_sd, seed_sd_ci=ci, tau=tau, tau_pairs=pairs, se_search=se,
        resolves=None if se is None else SE_PER_TARGET * se, detectable=None if se is None else detectable(se),
        trials_needed=None if se is None else math.ceil(trials * (SE_PER_TARGET * se / target) ** 2),
        seconds=statistics.fmean(float(e.train_seconds or 0.0) for e in stored),
        failures=split_failures(frame, evaluations.params, evaluations.chance)[1].failed)


def calibrate_report(store: Store, pilot: str, labels: tuple[str, ...], trials: int, unit_se: float,
                     target: float = DEFAULT_TARGET) -> Calibration:
    """The figures of every rung in ``labels`` that has evaluations, and the recommendation
    (``unit_se``: :func:`octsearch.calibrate.resolution.unit_se` of the space at ``trials``)."""
    check_target(target)
    check_trials(trials)
    budgets = store.budgets(pilot)
    rungs = tuple(rung_figures(store, pilot, label, trials, target, unit_se)
                  for label in labels if budgets.get(label))
    if not rungs:
        raise ConfigError(f"calibration {pilot!r} has no evaluations at any rung yet: nothing to report")
    measured = [r for r in rungs if r.se_search is not None]
    resolving = [r for r in measured if r.resolves is not None and r.resolves <= target]
    recommended = min(resolving, key=lambda r: r.seconds).label if resolving else None
    best = min(measured, key=lambda r: r.se_search).label if measured else None  # type: ignore[arg-type,return-value]
    return Calibration(pilot, trials, target, unit_se, rungs, recommended, best)


def check_target(target: float) -> None:
    if isinstance(target, bool) or not isinstance(target, (int, float)) or not (0 < target < 100):
        raise ConfigError(f"--target {target!r} is not accepted; use points of validation accuracy in (0, 100), "
                          "e.g. 0.5")


def check_trials(trials: int) -> None:
    if isinstance(trials, bool) or not isinstance(trials, int) or trials < 1:
        raise ConfigError(f"--trials {trials!r} is not accepted; use an integer >= 1 (the search's evaluations)")
