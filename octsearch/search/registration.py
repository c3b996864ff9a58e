"""A search's record in the store: its objectives, its sampler's arguments and the fixed
reference point of its hypervolume. Kept apart from :mod:`octsearch.search.launch` so that what
registers a search of its own (tables, the calibration pilot, the supernet) does not import the
launch, which itself runs the supernet for ``--evaluator supernet``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from octsearch.search.state import Objectives
from octsearch.spaces.space import SearchSpace
from octsearch.store import SearchRecord, SearchSpec, Store

# -- the search record: its objectives and the fixed reference point of its hypervolume -----------
# (chance-level accuracy, the alpha-0 network's FLOPs in the objective convention)


def sampler_args(space: SearchSpace, sampler: str, given: Mapping[str, Any] | None = None) -> dict:
    """``given`` when set (the benchmark's strategies); else the space's sampler arguments when the
    search uses the space's sampler, none for another (``--sampler tpe`` on a space tuned for
    NSGA-II must not get its ``population_size``)."""
    if given is not None:
        return dict(given)
    return dict(space.sampler.args) if sampler == space.sampler.name else {}


def reference_point(space: SearchSpace) -> tuple[float, int]:
    """Chance-level accuracy and the FLOPs (objective convention) of the alpha-0 network."""
    from octsearch.spaces.cost import count_cost

    # Alpha 0 need not be a choice of the space's grid: counted directly, not as a configuration.
    cost = count_cost(space.model_name, space.model_args, tuple((slot, 0.0) for slot in space.free_slots))
    return 1.0 / int(space.model_args["num_classes"]), cost.flops(space.objectives.flops)


def register_search(store: Store, space: SearchSpace, name: str, sampler: str, seed: int,
                    kind: str = "search", source: str | None = None,
                    args: Mapping[str, Any] | None = None) -> SearchRecord:
    """Create the search, or return the stored one if it is the same (space, kind, source);
    ``args``: the sampler's arguments when not the space's (see :func:`sampler_args`)."""
    ref_acc, ref_flops = reference_point(space)
    return store.create_search(SearchSpec(
        name=name, space_text=space.text, space_hash=space.hash, model_name=space.model_name,
        model_args=dict(space.model_args), reference_accuracy=ref_acc, reference_flops=ref_flops,
        objectives=Objectives.of(space).store_names, sampler=sampler, sampler_args=sampler_args(space, sampler, args),
        seed=seed, flops_budget=None if space.flops_budget is None else int(space.flops_budget),
        kind=kind, source=source,
    ), exist_ok=True)
