"""How good a search's front is, judged on a table: every configuration scored with one *truth*
(:mod:`octsearch.tables.truth`: the table's mean accuracy over its seeds by default, or the pooled
model's prediction), never with the single run a search saw, so a lucky seed earns nothing.

Hypervolume is of (accuracy, FLOPs) against the table's fixed reference point (chance-level
accuracy, the alpha-0 network's FLOPs in the search's convention); a *share* is a front's
hypervolume over that of the table's true front (the front of every tabulated configuration).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from octsearch.pareto import hypervolume, non_dominated
from octsearch.store import Store
from octsearch.tables.lookup import Table
from octsearch.tables.truth import Truth, mean_truth


@dataclass(frozen=True)
class Scored:
    """A configuration as the table scores it: the truth's accuracy (fraction), FLOPs (multiply-adds)."""

    key: str
    accuracy: float
    flops: int


class TableScore:
    """The table's true front under ``truth`` (default: the mean accuracies) and the share of its
    hypervolume any set of configurations reaches."""

    def __init__(self, table: Table, truth: Truth | None = None) -> None:
        record = table.record
        self.reference = (record.reference_accuracy, float(record.reference_flops))
        self._flops_key = record.flops_key
        self.truth = truth or mean_truth(table)
        self.scored = {key: Scored(key, self.truth.accuracy[key], int(getattr(t, self._flops_key)))
                       for key, t in table.trials.items() if key in self.truth.accuracy}
        self.true_hypervolume = self.hypervolume(self.scored)

    def hypervolume(self, keys: Iterable[str]) -> float:
        """In accuracy x share of the alpha-0 network's FLOPs saved (the store's convention)."""
        ref_acc, ref_flops = self.reference
        points = [(self.scored[k].accuracy, self.scored[k].flops / ref_flops) for k in keys if k in self.scored]
        return hypervolume(points, (ref_acc, 1.0), ["max", "min"])

    def front(self) -> list[str]:
        """The keys of the true front: no scored configuration is as accurate for fewer FLOPs."""
        keys = list(self.scored)
        points = [(self.scored[k].accuracy, self.scored[k].flops) for k in keys]
        return [keys[i] for i in non_dominated(points, ["max", "min"])]

    def share(self, keys: Iterable[str]) -> float:
        return self.hypervolume(keys) / self.true_hypervolume if self.true_hypervolume > 0 else 0.0

    def best_within(self, keys: Iterable[str], flops_budget: float) -> float | None:
        """The best mean accuracy among ``keys`` with at most ``flops_budget`` multiply-adds."""
        within = [self.scored[k].accuracy for k in keys if k in self.scored and self.scored[k].flops <= flops_budget]
        return max(within, default=None)

    def regret(self, keys: Iterable[str], flops_budget: float) -> float:
        """Accuracy (fraction) the found configurations miss at a FLOPs budget against the table's best
        there; a search with nothing within the budget misses the table's best entirely."""
        best = self.best_within(self.scored, flops_budget) or 0.0
        found = self.best_within(keys, flops_budget)
        return best - (found if found is not None else self.reference[0])

    def flops_quantiles(self, qs: Sequence[float]) -> list[float]:
        flops = sorted(s.flops for s in self.scored.values())
        return [float(flops[min(len(flops) - 1, int(q * (len(flops) - 1)))]) for q in qs]


def evaluated_in_order(store: Store, search: str) -> list[str]:
    """Configuration keys of a search's evaluations in the order they were stored (one entry per
    training run: a repeat seed is an evaluation too; answered and infeasible draws are not)."""
    keys = {t.number: t.configuration.key for t in store.trials(search)}
    evaluations = sorted(store.evaluations(search), key=lambda e: (e.created_at, e.trial, e.seed))
    return [keys[e.trial] for e in evaluations]


def share_trajectory(score: TableScore, keys: Sequence[str]) -> list[float]:
    """The share of the true hypervolume after each evaluation (index 0: after the first)."""
    seen: set[str] = set()
    out = []
    for key in keys:
        seen.add(key)
        out.append(score.share(seen))
    return out


def evaluations_to_reach(trajectory: Sequence[float], share: float) -> int | None:
    """Evaluations used when the share first reaches ``share``; None if it never does."""
    return next((i + 1 for i, s in enumerate(trajectory) if s >= share - 1e-12), None)


def uniform_keys(table: Table) -> list[str]:
    return [key for key, t in table.trials.items() if t.is_uniform]
