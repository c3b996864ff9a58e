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
    flops = count.flops_paper if space.objectives.flops == "paper" else count.flops_all
    budget = space.flops_budget
    return ConfigCheck(params, alphas, count.flops_paper, count.flops_all, count.params, flops,
                       budget, budget is None or flops <= budget)


@functools.lru_cache(maxsize=4096)
def _count(model: str, args: tuple[tuple[str, Any], ...], alphas: tuple[tuple[str, float], ...]) -> FlopCount:
    from octsearch.core.flops import count_flops
    from octsearch.core.registry import create_model

    return count_flops(create_model(model, alphas=dict(alphas), **dict(args)))
