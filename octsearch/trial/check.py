"""The cheap path: FLOPs of a configuration without training (cached per process).

The search calls :func:`check_config` before dispatching a configuration, to record it as
infeasible when it exceeds the space's FLOPs budget.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from octsearch.core.flops import FlopCount
    from octsearch.spaces.space import SearchSpace


@dataclass(frozen=True)
class Cost:
    """A configuration's counted cost (multiply-adds at batch 1, both conventions, and parameters).

    The search driver counts every configuration before dispatching it (to screen the budget) and
    sends the count along in the trial's config, so a worker neither imports fvcore nor counts again.
    """

    flops_paper: int
    flops_all: int
    params: int

    _KEYS = ("__flops_paper", "__flops_all", "__params_count")

    def to_config(self) -> dict[str, int]:
        return dict(zip(self._KEYS, (self.flops_paper, self.flops_all, self.params), strict=True))

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Cost | None:
        if not all(k in config for k in cls._KEYS):
            return None
        return cls(*(int(config[k]) for k in cls._KEYS))

    def flops(self, convention: str) -> int:
        """FLOPs in a space's objective convention (``paper`` or ``all``)."""
        return self.flops_paper if convention == "paper" else self.flops_all


@dataclass(frozen=True)
class ConfigCheck:
    """A configuration's cost and whether it fits the space's FLOPs budget.

    FLOPs are multiply-adds at batch 1 (1 fused multiply-add = 1 FLOP); ``flops`` is the one in
    the space's objective convention (``objectives.flops``), the one the budget applies to.
    """

    params: dict[str, float]
    alphas: dict[str, float]
    flops_paper: int
    flops_all: int
    params_count: int
    flops: int
    flops_budget: float | None
    feasible: bool

    @property
    def cost(self) -> Cost:
        return Cost(self.flops_paper, self.flops_all, self.params_count)


def flops_of(space: SearchSpace, config: float | Mapping[str, Any]) -> FlopCount:
    """FLOPs of a configuration (uniform alpha, parameter -> alpha, or slot -> alpha)."""
    alphas = space.expand(space.config_from(config))
    args = tuple(sorted(space.model_args.items()))
    return _count(space.model_name, args, tuple(sorted(alphas.items())))


def check_config(space: SearchSpace, config: float | Mapping[str, Any]) -> ConfigCheck:
    """Validate a configuration and count its FLOPs; ``feasible`` is False over the FLOPs budget."""
    params = space.config_from(config)
    alphas = space.expand(params)
    count = flops_of(space, params)
    flops = Cost(count.flops_paper, count.flops_all, count.params).flops(space.objectives.flops)
    budget = space.flops_budget
    return ConfigCheck(params, alphas, count.flops_paper, count.flops_all, count.params, flops,
                       budget, budget is None or flops <= budget)


@functools.lru_cache(maxsize=4096)
def _count(model: str, args: tuple[tuple[str, Any], ...], alphas: tuple[tuple[str, float], ...]) -> FlopCount:
    from octsearch.core.flops import count_flops
    from octsearch.core.registry import create_model

    return count_flops(create_model(model, alphas=dict(alphas), **dict(args)))
