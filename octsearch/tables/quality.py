"""How good a search's front is, judged on a table: every configuration scored with the table's
mean accuracy over its seeds, so a lucky seed earns nothing.

Hypervolume is of (accuracy, FLOPs) against the table's fixed reference point (chance-level
accuracy, the alpha-0 network's FLOPs in the search's convention); a *share* is a front's
hypervolume over that of the table's true front (the front of every tabulated configuration).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from octsearch.store import Store
from octsearch.store.front import hypervolume
from octsearch.tables.lookup import Table


@dataclass(frozen=True)
class Scored:
    """A configuration as the table scores it: mean accuracy (fraction), FLOPs (multiply-adds)."""

    key: str
    accuracy: float
    flops: int


class TableScore:
    """The table's true front and the share of its hypervolume any set of configurations reaches."""

    def __init__(self, table: Table) -> None:
        record = table.record
        self.reference = (record.reference_accuracy, float(record.reference_flops))
        self._flops_key = record.flops_key
        self.scored = {key: Scored(key, acc, int(getattr(t, self._flops_key)))
                       for key, t in table.trials.items()
                       if (acc := table.mean_accuracy(t.configuration)) is not None}
        self.true_hypervolume = self.hypervolume(self.scored)

    def hypervolume(self, keys: Iterable[str]) -> float:
        """In accuracy x share of the alpha-0 network's FLOPs saved (the store's convention)."""
        ref_acc, ref_flops = self.reference
        points = [(self.scored[k].accuracy, self.scored[k].flops / ref_flops) for k in keys if k in self.scored]
        return hypervolume(points, (ref_acc, 1.0), ["max", "min"])

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
