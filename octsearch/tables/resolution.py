"""The noise a sampler claim on a table stands on: what the table resolves, and what a truth built
from it (:mod:`octsearch.tables.truth`) resolves.

- Seed agreement: the truth built from one seed alone, for each seed of the table, compared pair
  by pair. Kendall tau (scipy's tau-b) of the configurations' accuracies; and the *front share*,
  the share of one seed's true hypervolume that the other seed's true front reaches (1.0 where
  the two fronts agree; 0.99 would mean a search that found one seed's front exactly scores 99% on
  the other's). For the ``means`` truth a one-seed truth is that seed's runs: its tau is the
  table's seed-to-seed tau.
- The smallest effect the pooled model detects over all the table's evaluations, per parameter
  and alpha (80% power, two-sided 5%: :func:`octsearch.analysis.effects.detectable`), in points
  of validation accuracy at equal FLOPs.
- The truth's own standard errors, and the share of its true hypervolume the uniform-alpha
  configurations hold (what a search gets before it finds any per-layer configuration).

A one-seed truth resolves less than the truth built from all seeds; the seed agreement is a
floor, not the full truth's reliability.
"""

from __future__ import annotations

import itertools
import statistics
from dataclasses import dataclass
from typing import TYPE_CHECKING

from octsearch.tables.lookup import Table
from octsearch.tables.quality import TableScore, uniform_keys
from octsearch.tables.truth import TABLE_BUDGET, truth_of

if TYPE_CHECKING:
    from octsearch.store import Store


@dataclass(frozen=True)
class SeedPair:
    """Two one-seed truths: Kendall ``tau`` of their accuracies, and ``front_shares``: the share of
    the second seed's true hypervolume the first's front reaches, and the reverse."""

    seeds: tuple[int, int]
    tau: float
    front_shares: tuple[float, float]


@dataclass(frozen=True)
class Resolution:
    """What ``kind`` on ``table`` resolves (see the module docstring). SEs and detectable effects
    are points of validation accuracy; ``detectable`` is (smallest, largest) over the effects."""

    table: str
    kind: str
    seeds: tuple[int, ...]
    pairs: tuple[SeedPair, ...]
    se_median: float
    se_range: tuple[float, float]
    detectable: tuple[float, float]
    uniform_share: float

    @property
    def taus(self) -> list[float]:
        return [p.tau for p in self.pairs]

    @property
    def front_shares(self) -> list[float]:
        return [s for p in self.pairs for s in p.front_shares]


def seed_pairs(store: Store, table: str, kind: str, seeds: tuple[int, ...]) -> tuple[SeedPair, ...]:
    """Every pair of ``seeds``, each seed's own truth of ``kind`` against the other's."""
    from scipy.stats import kendalltau

    lookup = Table(store, table)
    scores = {s: TableScore(lookup, truth_of(kind, store, table, [s])) for s in seeds}
    pairs = []
    for a, b in itertools.combinations(seeds, 2):
        common = sorted(scores[a].scored.keys() & scores[b].scored.keys())
        tau = kendalltau([scores[a].scored[k].accuracy for k in common],
                         [scores[b].scored[k].accuracy for k in common]).statistic
        pairs.append(SeedPair((a, b), float(tau), (scores[b].share(scores[a].front()),
                                                   scores[a].share(scores[b].front()))))
    return tuple(pairs)


def resolution(store: Store, table: str, kind: str) -> Resolution:
    """What the truth ``kind`` of ``table`` resolves (reads only)."""
    from octsearch.analysis import search_effects

    lookup = Table(store, table)
    score = TableScore(lookup, truth_of(kind, store, table))
    seeds = score.truth.seeds
    se = sorted(100 * v for v in score.truth.se.values()) or [float("nan")]
    detectable = [e.detectable for e in search_effects(store, table, TABLE_BUDGET).effects]
    return Resolution(table, kind, seeds, seed_pairs(store, table, kind, seeds), statistics.median(se),
                      (se[0], se[-1]), (min(detectable), max(detectable)), score.share(uniform_keys(lookup)))
