"""What a replayed search is scored against: each configuration's accuracy under one *truth*.

- ``means`` (:func:`mean_truth`): the table's mean accuracy of each configuration over its seeds.
  It resolves little where seeds scatter as much as configurations differ (on mnist81 two seeds
  rank the 81 configurations with Kendall tau 0.14; a mean of 3 seeds carries SE 0.79 points).
- ``model`` (:func:`model_truth`): the pooled model's predicted accuracy of every configuration
  (:mod:`octsearch.analysis`: quadratic in log FLOPs + one effect per parameter and alpha + seed,
  fit on every evaluation of the table), which lends each configuration the seeds of all the
  others (SE 0.27 to 0.51 points on mnist81). It holds only what the model holds: additive alpha
  effects on a smooth FLOPs curve, nothing a single configuration does on its own.

A replay is fed the table's single-seed runs either way (as a real search is); only its score
changes. :mod:`octsearch.tables.resolution` measures what a truth resolves.
"""

from __future__ import annotations

import statistics
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from octsearch.errors import ConfigError

if TYPE_CHECKING:
    from octsearch.store import Store
    from octsearch.tables.lookup import Table

TRUTHS = ("means", "model")
TABLE_BUDGET = "proxy"  # the budget a table's runs are stored under (see lookup.Table)


@dataclass(frozen=True)
class Truth:
    """``accuracy``: configuration key -> the truth's accuracy (fraction of the validation split);
    ``se``: key -> its standard error (fraction); ``seeds``: the table's seeds it was built from."""

    kind: str
    accuracy: Mapping[str, float]
    se: Mapping[str, float]
    seeds: tuple[int, ...]


def mean_truth(table: Table, seeds: Collection[int] | None = None) -> Truth:
    """Each configuration's mean accuracy over its runs (those of ``seeds`` only, when given); the SE
    is the runs' sample SD over the square root of their number (absent with one run)."""
    accuracy, se, used = {}, {}, set()
    for key, trial in table.trials.items():
        runs = [r for r in table.runs(trial.configuration) if seeds is None or r.seed in seeds]
        accuracies = [r.accuracy for r in runs]
        if accuracies:
            accuracy[key] = statistics.fmean(accuracies)
            used.update(r.seed for r in runs)
        if len(accuracies) > 1:
            se[key] = statistics.stdev(accuracies) / len(accuracies) ** 0.5
    return Truth("means", accuracy, se, tuple(sorted(used)))


def model_truth(store: Store, table: str, seeds: Collection[int] | None = None) -> Truth:
    """The pooled model's predicted accuracy of every configuration of ``table`` (fit on all its
    evaluations, or on those of ``seeds``), at the mean of the fitted seeds' block effects, with its
    SE (the larger of cluster-robust and classic: :data:`octsearch.analysis.effects.SE_RULE`).
    One-line ConfigErrors where the data cannot carry the model (see :func:`octsearch.analysis.fit_search`)."""
    from dataclasses import replace

    from octsearch.analysis import fit_search, predict, read_evaluations

    evaluations = read_evaluations(store, table, TABLE_BUDGET)
    frame = evaluations.frame
    if seeds is not None:
        frame = frame[frame["seed"].isin(list(seeds))]
        if frame.empty:
            raise ConfigError(f"table {table!r} has no evaluations of seeds {sorted(seeds)}; its seeds: "
                              f"{sorted(int(s) for s in evaluations.frame['seed'].unique())}")
    model = fit_search(replace(evaluations, frame=frame))
    keys = {t.number: t.configuration.key for t in store.trials(table)}
    configurations = evaluations.frame.drop_duplicates("trial")  # every one, evaluated under seeds or not
    predictions = predict(model.fitted, configurations)
    return Truth("model", {keys[p.trial]: p.predicted / 100 for p in predictions},
                 {keys[p.trial]: p.se / 100 for p in predictions}, model.fitted.design.seeds)


def truth_of(kind: str, store: Store, table: str, seeds: Collection[int] | None = None) -> Truth:
    """The truth named ``kind`` (one of :data:`TRUTHS`) of ``table``."""
    if kind == "model":
        return model_truth(store, table, seeds)
    if kind == "means":
        from octsearch.tables.lookup import Table

        return mean_truth(Table(store, table), seeds)
    raise ConfigError(f"unknown truth {kind!r}; accepted: {', '.join(TRUTHS)}")
