"""What each rung of a stored pilot resolves, and the cheapest rung that resolves the target.

Per rung (its evaluations read through the store's facade; nothing is written):

- ``seed_sd``: the pooled SD of evaluations within a configuration (points of validation accuracy;
  every evaluation, training failures included: they are seed noise a search meets);
- ``tau``: seed-to-seed Kendall tau-b (scipy) of the configurations' accuracies, one per pair of
  seeds over the configurations both hold, averaged over the pairs;
- the pooled model of :mod:`octsearch.analysis` fit on the rung's evaluations: the median standard
  error of its alpha effects (points at equal FLOPs, the analysis' SE rule), ``se_pilot``;
- ``se_search``: that SE at the search's trial count, scaled as 1/sqrt(evaluations):
  ``se_pilot * sqrt(n_pilot / trials)``. The pilot's design is balanced; a sampler's draws are not,
  so this is the best case for a search of that size;
- ``resolves``: 2 x ``se_search`` (the effect a search of ``trials`` evaluations pins to within
  2 SE) and ``detectable``, the effect a two-sided 5% test finds with 80% power, 2.8 x ``se_search``;
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
    """One rung's figures (see the module docstring); ``model_error`` says why no model was fit."""

    label: str
    evaluations: int
    configurations: int
    seeds: int
    n_val: int
    mean_accuracy: float
    seed_sd: float | None
    tau: float | None
    tau_pairs: int
    se_pilot: float | None
    se_search: float | None
    resolves: float | None
    detectable: float | None
    trials_needed: int | None
    seconds: float
    failures: int = 0
    model_error: str = ""


@dataclass(frozen=True)
class Calibration:
    """Every rung of pilot ``pilot`` for a search of ``trials`` evaluations, and the pick."""

    pilot: str
    trials: int
    target: float
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


def rung_figures(store: Store, pilot: str, label: str, trials: int, target: float) -> RungFigures:
    """The figures of one rung (its evaluations must exist)."""
    from octsearch.analysis import fit_search, read_evaluations
    from octsearch.analysis.diagnostics import pooled_seed_sd
    from octsearch.analysis.effects import detectable, effects_of

    evaluations = read_evaluations(store, pilot, label)
    frame = evaluations.frame
    stored = store.evaluations(pilot, budget=label)
    seed_sd, _ = pooled_seed_sd(frame)
    tau, pairs = kendall_tau(frame)
    se_pilot = se_search = needed = None
    error, failures = "", 0
    try:
        model = fit_search(evaluations)
        failures = model.failures.failed
        se_pilot = statistics.median(e.se for e in effects_of(model.fitted))
        n = len(model.kept)
        se_search = se_pilot * math.sqrt(n / trials)
        needed = math.ceil(n * (se_pilot * SE_PER_TARGET / target) ** 2)
    except ConfigError as e:
        error = str(e)
    return RungFigures(
        label=label, evaluations=len(frame), configurations=int(frame["trial"].nunique()),
        seeds=int(frame["seed"].nunique()), n_val=int(statistics.median(e.n_val for e in stored)),
        mean_accuracy=float(frame["accuracy"].mean()), seed_sd=seed_sd, tau=tau, tau_pairs=pairs,
        se_pilot=se_pilot, se_search=se_search,
        resolves=None if se_search is None else SE_PER_TARGET * se_search,
        detectable=None if se_search is None else detectable(se_search), trials_needed=needed,
        seconds=statistics.fmean(float(e.train_seconds or 0.0) for e in stored), failures=failures,
        model_error=error)


def calibrate_report(store: Store, pilot: str, labels: tuple[str, ...], trials: int,
                     target: float = DEFAULT_TARGET) -> Calibration:
    """The figures of every rung in ``labels`` that has evaluations, and the recommendation."""
    check_target(target)
    check_trials(trials)
    budgets = store.budgets(pilot)
    rungs = tuple(rung_figures(store, pilot, label, trials, target) for label in labels if budgets.get(label))
    if not rungs:
        raise ConfigError(f"calibration {pilot!r} has no evaluations at any rung yet: nothing to report")
    fitted = [r for r in rungs if r.se_search is not None]
    resolving = [r for r in fitted if r.resolves is not None and r.resolves <= target]
    recommended = min(resolving, key=lambda r: r.seconds).label if resolving else None
    best = min(fitted, key=lambda r: r.se_search).label if fitted else None  # type: ignore[arg-type,return-value]
    return Calibration(pilot, trials, target, rungs, recommended, best)


def check_target(target: float) -> None:
    if isinstance(target, bool) or not isinstance(target, (int, float)) or not (0 < target < 100):
        raise ConfigError(f"--target {target!r} is not accepted; use points of validation accuracy in (0, 100), "
                          "e.g. 0.5")


def check_trials(trials: int) -> None:
    if isinstance(trials, bool) or not isinstance(trials, int) or trials < 1:
        raise ConfigError(f"--trials {trials!r} is not accepted; use an integer >= 1 (the search's evaluations)")
