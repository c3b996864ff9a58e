"""A configuration's cost without training: fvcore's count of the model it builds (cached).

FLOPs are multiply-adds at batch 1 in both conventions (see :mod:`octsearch.core.flops`). The
search driver counts every configuration once, before dispatching it (the FLOPs budget is
screened there), and the count travels with the configuration, so workers never count again.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from octsearch.configuration import Cost, Pairs


def count_cost(model: str, model_args: Mapping[str, Any], alphas: Pairs) -> Cost:
    """FLOPs (both conventions) and parameters of ``model`` with the free slots' ``alphas``."""
    return _count(model, tuple(sorted(model_args.items())), tuple(sorted(alphas)))


@functools.lru_cache(maxsize=4096)
def _count(model: str, args: tuple[tuple[str, Any], ...], alphas: Pairs) -> Cost:
    from octsearch.core.flops import count_flops
    from octsearch.core.registry import create_model

    count = count_flops(create_model(model, alphas=dict(alphas), **dict(args)))
    return Cost(count.flops_paper, count.flops_all, count.param_count)
