"""Which configurations a table holds: all of a space's, or a stratified sample of them."""

from __future__ import annotations

import itertools
import random
from collections import defaultdict

from octsearch.configuration import Configuration
from octsearch.errors import ConfigError
from octsearch.spaces.remaining import every_configuration
from octsearch.spaces.space import SearchSpace

MAX_CONFIGURATIONS = 10_000  # a table of more needs --sample: each costs seeds x one proxy training
_ENUMERABLE = 1_000_000  # above this the sample is drawn without listing the space


def table_configurations(space: SearchSpace, sample: int | None = None, seed: int = 0) -> list[Configuration]:
    """Every configuration of ``space``, or ``sample`` of them stratified by cost (see
    :func:`stratified_sample`); the uniform-alpha configurations are always included."""
    total = space.num_configurations
    if sample is None:
        if total > MAX_CONFIGURATIONS:
            raise ConfigError(f"{space.name}: {total:,} configurations are more than a table holds without "
                              f"--sample ({MAX_CONFIGURATIONS:,}); accepted: --sample N with N <= {MAX_CONFIGURATIONS:,}")
        return every_configuration(space)
    if isinstance(sample, bool) or not isinstance(sample, int) or not 1 <= sample <= min(total, MAX_CONFIGURATIONS):
        raise ConfigError(f"--sample {sample!r}; accepted: 1 to {min(total, MAX_CONFIGURATIONS):,} "
                          f"(the space has {total:,} configurations)")
    return stratified_sample(space, sample, seed)


def stratified_sample(space: SearchSpace, n: int, seed: int) -> list[Configuration]:
    """``n`` distinct configurations, the uniform ones first, the rest spread over cost strata in
    proportion to their sizes (seeded). A stratum is the sum of a configuration's choice positions:
    more low-frequency channels never add multiply-adds, so the strata run from the costliest
    networks to the cheapest. Spaces too large to list are sampled at random instead."""
    uniform = space.uniform_configurations()[:n]
    rng = random.Random(seed)
    if space.num_configurations > _ENUMERABLE:
        return _random_sample(space, n, uniform, rng)
    taken = {c.key for c in uniform}
    strata: dict[int, list[Configuration]] = defaultdict(list)
    for indices in itertools.product(*(range(len(p.choices)) for p in space.params)):
        cfg = space.from_indices(indices)
        if cfg.key not in taken:
            strata[sum(indices)].append(cfg)
    return uniform + _proportional(strata, n - len(uniform), rng)


def _proportional(strata: dict[int, list[Configuration]], n: int, rng: random.Random) -> list[Configuration]:
    """``n`` members drawn from the strata in proportion to their sizes (largest remainder)."""
    total = sum(len(v) for v in strata.values())
    quota = {k: n * len(v) / total for k, v in strata.items()} if total else {}
    counts = {k: int(q) for k, q in quota.items()}
    for k in sorted(quota, key=lambda k: quota[k] - counts[k], reverse=True)[: n - sum(counts.values())]:
        counts[k] += 1
    return [cfg for k in sorted(strata) for cfg in rng.sample(strata[k], counts[k])]


def _random_sample(space: SearchSpace, n: int, uniform: list[Configuration],
                   rng: random.Random) -> list[Configuration]:
    picked, taken = list(uniform), {c.key for c in uniform}
    while len(picked) < n:
        cfg = space.from_indices([rng.randrange(len(p.choices)) for p in space.params])
        if cfg.key not in taken:
            taken.add(cfg.key)
            picked.append(cfg)
    return picked

