"""A configuration's cost without training: the FLOPs of the model it builds (cached).

FLOPs are multiply-adds at batch 1 in both conventions (see :mod:`octsearch.core.flops`). The
search driver counts every configuration once, before dispatching it (the FLOPs budget is
screened there), and the count travels with the configuration, so workers never count again.
The count is fvcore's total, computed without fvcore's trace (:mod:`octsearch.core.flop_totals`:
about 0.04 s against 0.2-0.3 s for the default space's model here); a model with an operator that
path has no rule for is counted by fvcore itself.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from octsearch.configuration import Cost, Pairs

# From this input side up the model is built and run on torch's meta device (shapes only): weight
# initialisation and batch-1 arithmetic then cost more than meta's shape functions (224 px
# Oct-ResNet-50: 0.25 s on meta, 0.6 s on the CPU; the default space's 28 px: 0.11 s, 0.04 s).
META_FROM_SIDE = 128


def count_cost(model: str, model_args: Mapping[str, Any], alphas: Pairs) -> Cost:
    """FLOPs (both conventions) and parameters of ``model`` with the free slots' ``alphas``."""
    return _count(model, tuple(sorted(model_args.items())), tuple(sorted(alphas)))


@functools.lru_cache(maxsize=4096)
def _count(model: str, args: tuple[tuple[str, Any], ...], alphas: Pairs) -> Cost:
    import torch

    from octsearch.core.flop_totals import UncountedOperator, count_totals
    from octsearch.core.registry import create_model

    kwargs = dict(args)
    side = kwargs.get("input_size")
    try:
        with torch.device("meta" if isinstance(side, int) and side >= META_FROM_SIDE else "cpu"):
            counted: Any = count_totals(create_model(model, alphas=dict(alphas), **kwargs))
    except UncountedOperator:
        from octsearch.core.flops import count_flops

        counted = count_flops(create_model(model, alphas=dict(alphas), **kwargs))  # counts it, or refuses the total
    return Cost(counted.flops_paper, counted.flops_all, counted.param_count)
