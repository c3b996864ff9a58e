"""A space's supernet: its model at alpha 0 made switchable over the alphas the space allows."""

from __future__ import annotations

import torch

from octsearch.spaces.space import SearchSpace
from octsearch.supernet.switchable import Supernet


def slot_grid(space: SearchSpace) -> dict[str, tuple[float, ...]]:
    """Each free slot -> the alphas its configurations give it (a searched parameter's choices, or
    the space's fixed alpha for an unsearched slot)."""
    grid = {slot: (alpha,) for slot, alpha in space.fixed.items()}
    for param in space.params:
        for slot in param.slots:
            grid[slot] = tuple(param.choices)
    return {slot: grid.get(slot, (0.0,)) for slot in space.free_slots}


def supernet_layout(space: SearchSpace) -> torch.memory_format:
    """The memory layout the supernet trains and scores in: the proxy budget's (``channels_last``)."""
    return torch.channels_last if space.budget("proxy").channels_last else torch.contiguous_format


def build_supernet(space: SearchSpace) -> Supernet:
    """The space's model with every slot switchable (weights drawn from torch's generator), contiguous."""
    from octsearch.core.registry import create_model

    return Supernet(create_model(space.model_name, 0.0, **space.model_args), slot_grid(space))
