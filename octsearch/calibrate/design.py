"""Which configurations a calibration trains: the uniform-alpha points plus a balanced design.

The design estimates main effects efficiently: every parameter takes each of its alphas equally
often, so each effect is estimated from as many evaluations as the others.

- Where every parameter has the same number ``p`` of alphas, ``p`` is prime, there are at most
  ``p + 1`` parameters and the design has ``p**2`` rows (the default where it can), the rows are an
  orthogonal array of strength 2 (every pair of parameters takes every pair of alphas exactly once):
  scipy's orthogonal-array-based Latin hypercube (``qmc.LatinHypercube(strength=2)``), each
  coordinate binned into ``p`` equal intervals. Main effects are then uncorrelated with each other.
- Otherwise a Latin hypercube of ``n`` rows (strength 1), binned per parameter: each alpha of a
  parameter with ``k`` alphas appears ``n / k`` times where ``k`` divides ``n`` (within one otherwise).

Both are seeded (``design_seed``). The uniform-alpha configurations come first; a design row that
repeats one of them, or another row, is kept once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from octsearch.configuration import Configuration
from octsearch.errors import ConfigError
from octsearch.spaces.space import SearchSpace


@dataclass(frozen=True)
class Design:
    """``rows``: alpha indices per parameter (space order), one row per design point;
    ``strength``: 2 for an orthogonal array, 1 for a Latin hypercube."""

    rows: tuple[tuple[int, ...], ...]
    strength: int

    @property
    def kind(self) -> str:
        return ("orthogonal array of strength 2 (scipy LatinHypercube, strength=2)" if self.strength == 2
                else "Latin hypercube (scipy LatinHypercube), binned per parameter")


def _levels(space: SearchSpace) -> list[int]:
    return [len(p.choices) for p in space.params]


def _is_prime(n: int) -> bool:
    return n >= 2 and all(n % k for k in range(2, int(n ** 0.5) + 1))


def orthogonal_size(space: SearchSpace) -> int | None:
    """``p**2`` where the space admits a strength-2 orthogonal array of ``p**2`` rows, else None."""
    levels = _levels(space)
    p = levels[0] if levels else 0
    if levels and len(set(levels)) == 1 and _is_prime(p) and len(levels) <= p + 1:
        return p * p
    return None


def default_size(space: SearchSpace) -> int:
    """The orthogonal array's ``p**2`` where one exists, else the square of the most alphas."""
    return orthogonal_size(space) or max(_levels(space)) ** 2


def balanced_design(space: SearchSpace, n: int, seed: int = 0) -> Design:
    """``n`` design rows (see the module docstring)."""
    from scipy.stats import qmc

    levels = np.array(_levels(space))
    strength = 2 if orthogonal_size(space) == n else 1
    points = qmc.LatinHypercube(d=len(levels), strength=strength, rng=np.random.default_rng(seed)).random(n)
    rows = np.minimum(np.floor(points * levels).astype(int), levels - 1)
    return Design(tuple(tuple(int(i) for i in row) for row in rows), strength)


def pilot_configurations(space: SearchSpace, n: int | None = None, seed: int = 0) -> tuple[list[Configuration], Design]:
    """The uniform-alpha configurations, then the design's (each configuration once)."""
    size = default_size(space) if n is None else n
    if isinstance(size, bool) or not isinstance(size, int) or not 2 <= size <= space.num_configurations:
        raise ConfigError(f"--configurations {n!r}; accepted: an integer from 2 to {space.num_configurations:,} "
                          f"(the space's configurations)")
    design = balanced_design(space, size, seed)
    picked: dict[str, Configuration] = {c.key: c for c in space.uniform_configurations()}
    for row in design.rows:
        cfg = space.from_indices(row)
        picked.setdefault(cfg.key, cfg)
    return list(picked.values()), design
