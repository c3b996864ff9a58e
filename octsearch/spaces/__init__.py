"""Search-space files: ``search_spaces/*.yaml`` -> :class:`SearchSpace`.

A space names a model and its arguments, a data set, which alpha slots are searched over which
choices, the proxy training budget, the objectives, an optional FLOPs budget and the default
sampler. See :mod:`octsearch.spaces.schema` for the file format.
"""

from octsearch.spaces.data import DataSpec
from octsearch.spaces.load import load_space, parse_space, space_from_text
from octsearch.spaces.locate import ShippedSpace, find_space, list_spaces, space_dirs
from octsearch.spaces.schema import DEFAULT_GRID, SAMPLERS, BudgetSpec, SpaceFile
from octsearch.spaces.space import SearchParam, SearchSpace

__all__ = [
    "DEFAULT_GRID",
    "SAMPLERS",
    "BudgetSpec",
    "DataSpec",
    "SearchParam",
    "SearchSpace",
    "ShippedSpace",
    "SpaceFile",
    "find_space",
    "list_spaces",
    "load_space",
    "parse_space",
    "space_dirs",
    "space_from_text",
]
