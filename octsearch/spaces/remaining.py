"""What is left of a finite space: whether every configuration is taken (evaluated, recorded over
the FLOPs budget, or dispatched), and an untaken one drawn uniformly at random.

The searcher falls back to such a draw when its sampler keeps proposing taken configurations
(each taken draw is a trial told to the study kept in the database: a slow write), and stops the
search when nothing is left instead of asking the sampler again.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Collection

from octsearch.configuration import Configuration
from octsearch.spaces.space import SearchSpace

_LISTED = 100_000  # spaces up to this size are listed; larger ones are drawn by rejection
_REJECTION_DRAWS = 1_000


def exhausted(space: SearchSpace, taken: Collection[str]) -> bool:
    """Every configuration of ``space`` is among ``taken`` (configuration keys of this space)."""
    return len(taken) >= space.num_configurations


def draw_untaken(space: SearchSpace, taken: Collection[str], rng: random.Random) -> Configuration | None:
    """A configuration not in ``taken``, uniformly at random among those left; None if none is."""
    if exhausted(space, taken):
        return None
    if space.num_configurations <= _LISTED:
        left = [cfg for cfg in every_configuration(space) if cfg.key not in taken]
        return rng.choice(left) if left else None
    # A large space is barely taken: a uniform draw is untaken at once nearly always.
    for _ in range(_REJECTION_DRAWS):
        cfg = space.from_params({p.name: rng.choice(p.choices) for p in space.params})
        if cfg.key not in taken:
            return cfg
    return None


def every_configuration(space: SearchSpace) -> list[Configuration]:
    """The whole space in the order of its parameters' choices (list only a small one)."""
    return [space.from_params(dict(zip(space.param_names, values, strict=True)))
            for values in itertools.product(*(p.choices for p in space.params))]
