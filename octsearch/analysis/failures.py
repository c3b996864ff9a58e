"""Training failures: evaluations that collapsed to near chance, set apart before the model is fit.

A proxy training now and then diverges and ends near chance accuracy. One such seed is not a
small effect of its alphas but a different outcome, and a least-squares fit would spread it over
every term. The rule chosen: an evaluation is a *failure* when its accuracy is below the midpoint
between chance and the median of all evaluations at the budget,

    threshold = chance + FAILURE_SHARE * (median - chance),   FAILURE_SHARE = 1/2,

(chance = 100 / classes points). Failures are left out of the accuracy model and counted instead,
per configuration and per parameter and alpha, so a parameter whose alphas make training fail
still shows (as a failure count beside its effects, not as an accuracy effect).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

FAILURE_SHARE = 0.5
RULE = ("an evaluation below chance + 1/2 (median - chance) accuracy is a training failure: "
        "counted, and left out of the accuracy model")


@dataclass(frozen=True)
class FailureCount:
    """Failed evaluations among all at one parameter's alpha."""

    parameter: str
    alpha: float
    failed: int
    total: int


@dataclass(frozen=True)
class Failures:
    """The evaluations set apart: ``threshold`` in points of validation accuracy, ``trials`` the
    configurations with at least one failed evaluation, ``by_alpha`` the counts per parameter and
    alpha (every alpha, failed or not, so rates can be compared)."""

    threshold: float
    failed: int
    total: int
    trials: tuple[int, ...]
    by_alpha: tuple[FailureCount, ...]
    rule: str = RULE


def split_failures(frame: pd.DataFrame, params: tuple[str, ...], chance: float) -> tuple[pd.DataFrame, Failures]:
    """The evaluations to model (failures removed) and the failure counts (accuracy in points)."""
    median = float(frame["accuracy"].median()) if len(frame) else chance
    threshold = chance + FAILURE_SHARE * max(median - chance, 0.0)
    failed = frame["accuracy"] < threshold
    counts = tuple(
        FailureCount(p, float(alpha), int(failed[frame[p] == alpha].sum()), int((frame[p] == alpha).sum()))
        for p in params for alpha in sorted(frame[p].dropna().unique())
    )
    trials = tuple(sorted(int(t) for t in frame.loc[failed, "trial"].unique()))
    return frame[~failed], Failures(threshold, int(failed.sum()), len(frame), trials, counts)
