"""Supernet scores into the store: each configuration a trial of the search, each score an
evaluation at budget ``supernet``.

The store keeps a trial's accuracy, its front flag and the hypervolume at the proxy budget only,
from proxy evaluations only: a supernet score is stored beside them and read only by asking for
its budget (``Store.evaluations(..., budget="supernet")``, ``Store.front(..., "supernet")``).
"""

from __future__ import annotations

from collections.abc import Sequence

from octsearch.spaces.space import SearchSpace
from octsearch.store import SearchRecord, Store
from octsearch.supernet.evaluate import SupernetScore
from octsearch.supernet.settings import SUPERNET_BUDGET

SUPERNET_SAMPLER = "supernet"  # what the search record names as its sampler


def register_supernet_search(store: Store, space: SearchSpace, name: str, seed: int) -> SearchRecord:
    """The search holding the supernet's scores (the stored one if it is the same space)."""
    from octsearch.search.study import register_search

    return register_search(store, space, name, SUPERNET_SAMPLER, seed)


def record_scores(store: Store, space: SearchSpace, name: str, scores: Sequence[SupernetScore], seed: int,
                  node: str | None = None) -> list[int]:
    """Store each score as an evaluation at budget ``supernet`` with the supernet's ``seed``;
    returns the trial numbers. A configuration scored before with this seed is refused by the store."""
    numbers = []
    for score in scores:
        number = store.start_trial(name, space.with_cost(score.configuration), node=node, budget=SUPERNET_BUDGET)
        store.record_evaluation(name, number, seed=seed, accuracy=score.accuracy, n_val=score.n_val,
                                budget=SUPERNET_BUDGET, train_seconds=score.seconds, node=node)
        numbers.append(number)
    return numbers
