"""octsearch: search per-layer alpha allocations of Octave Convolution networks.

Public names are imported lazily (PEP 562) so that ``octsearch pareto`` and ``octsearch --help``
do not pay for importing torch.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS: dict[str, str] = {
    "OctsearchError": "octsearch.errors",
    "ConfigError": "octsearch.errors",
    "UnknownNameError": "octsearch.errors",
    "OctConv2d": "octsearch.core.layers",
    "OctBatchNorm2d": "octsearch.core.layers",
    "OctActivation": "octsearch.core.layers",
    "OctConvBNAct": "octsearch.core.layers",
    "split_channels": "octsearch.core.split",
    "AlphaSlot": "octsearch.core.slots",
    "create_model": "octsearch.core.registry",
    "list_models": "octsearch.core.registry",
    "alpha_slots": "octsearch.core.registry",
    "count_flops": "octsearch.core.flops",
    "FlopCount": "octsearch.core.flops",
    "load_dataset": "octsearch.data",
    "list_datasets": "octsearch.data",
    "load_space": "octsearch.spaces",
    "SearchSpace": "octsearch.spaces",
    "list_spaces": "octsearch.spaces",
    "run_trial": "octsearch.trial",
    "TrialResult": "octsearch.trial",
    "Configuration": "octsearch.configuration",
    "Cost": "octsearch.configuration",
    "open_store": "octsearch.store",
    "read_config": "octsearch.config_file",
    "create_model_from_config": "octsearch.config_file",
    "launch": "octsearch.search.launch",
    "LaunchOptions": "octsearch.search.launch",
    "revalidate": "octsearch.validate",
    "optimize_for_inference": "octsearch.fast",
    "prepare_for_training": "octsearch.fast",
    "measure_latency": "octsearch.fast",
    "LatencyResult": "octsearch.fast",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'octsearch' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted(__all__)
