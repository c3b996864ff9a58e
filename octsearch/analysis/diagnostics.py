"""How well the pooled model fits: its residual SD against the seed noise, and its out-of-seed error.

All figures are points of validation accuracy (percent of the validation split).

- ``residual_sd``: the model's residual standard deviation (sqrt of its mean squared residual).
- ``seed_sd``: the pooled standard deviation of evaluations within a configuration (every
  configuration with two or more evaluations, weighted by its degrees of freedom): what seeds
  alone scatter. A residual SD near it means the model leaves little besides seed noise.
- Leave-one-seed-out cross-validation: for each seed, the model is refit without that seed's
  evaluations and predicts them (at the mean of the other seeds' block effects, since a held-out
  seed's own offset is unknown to any predictor); the rival predictor is each configuration's mean
  over the other seeds. Both are scored on the held-out evaluations whose configuration has another
  seed, by root mean squared error. A model that pools configurations should win: it averages over
  many configurations where the means average over one or two.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from octsearch.analysis.model import fit
from octsearch.analysis.predict import exog
from octsearch.errors import ConfigError

if TYPE_CHECKING:
    import pandas as pd

    from octsearch.analysis.model import Fitted


@dataclass(frozen=True)
class CrossValidation:
    """Leave-one-seed-out RMSE (points) of the model and of the per-configuration means, over
    ``n_predicted`` held-out evaluations of the seeds in ``folds``; ``skipped`` says why a seed was
    not held out."""

    folds: tuple[int, ...]
    n_predicted: int
    rmse_model: float
    rmse_means: float
    skipped: tuple[str, ...] = ()

    @property
    def model_wins(self) -> bool:
        return self.rmse_model < self.rmse_means


@dataclass(frozen=True)
class Diagnostics:
    """Residual SD and pooled seed SD (points, ``seed_sd`` over ``seed_groups`` configurations; None
    without repeats), and the cross-validation (None when no seed could be held out: ``cv_note``)."""

    residual_sd: float
    seed_sd: float | None
    seed_groups: int
    cv: CrossValidation | None
    cv_note: str = ""


def diagnose(fitted: Fitted, frame: pd.DataFrame, params: tuple[str, ...]) -> Diagnostics:
    seed_sd, groups = pooled_seed_sd(frame)
    cv, note = leave_one_seed_out(frame, params)
    return Diagnostics(math.sqrt(float(fitted.classic.scale)), seed_sd, groups, cv, note)


def pooled_seed_sd(frame: pd.DataFrame) -> tuple[float | None, int]:
    """The SD of evaluations within a configuration, pooled over configurations with repeats."""
    by_trial = frame.groupby("trial")["accuracy"]
    sizes = by_trial.size()
    repeated = sizes[sizes > 1].index
    if not len(repeated):
        return None, 0
    squares = by_trial.apply(lambda a: float(((a - a.mean()) ** 2).sum()))[repeated].sum()
    return math.sqrt(squares / float((sizes[repeated] - 1).sum())), len(repeated)


def leave_one_seed_out(frame: pd.DataFrame, params: tuple[str, ...]) -> tuple[CrossValidation | None, str]:
    """The model's and the means' errors on each held-out seed (see the module docstring)."""
    model_errors: list[np.ndarray] = []
    means_errors: list[np.ndarray] = []
    folds, skipped = [], []
    for seed in sorted(int(s) for s in frame["seed"].unique()):
        train, held = frame[frame["seed"] != seed], frame[frame["seed"] == seed]
        held = held[held["trial"].isin(train["trial"])]
        if held.empty:
            skipped.append(f"seed {seed}: none of its configurations has another seed")
            continue
        try:
            fitted = fit(train, params, f"the evaluations without seed {seed}")
        except ConfigError as e:
            skipped.append(f"seed {seed}: {e}")
            continue
        truth = held["accuracy"].to_numpy(dtype=float)
        model_errors.append(_predict(fitted, held) - truth)
        means = train.groupby("trial")["accuracy"].mean()
        means_errors.append(means.loc[held["trial"]].to_numpy(dtype=float) - truth)
        folds.append(seed)
    if not folds:
        return None, "no seed could be held out (" + "; ".join(skipped) + ")"
    model, means = np.concatenate(model_errors), np.concatenate(means_errors)
    return CrossValidation(tuple(folds), model.size, _rms(model), _rms(means), tuple(skipped)), ""


def _predict(fitted: Fitted, held: pd.DataFrame) -> np.ndarray:
    """The model's prediction at the mean of the fitted seeds' block effects."""
    return np.asarray(fitted.classic.predict(exog(fitted, held), transform=False), dtype=float)


def _rms(errors: np.ndarray) -> float:
    return float(np.sqrt(np.mean(errors ** 2)))
