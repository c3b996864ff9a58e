"""Optuna samplers by name, sized to the search's budget.

The FLOPs budget reaches the samplers that handle constraints (NSGA-II, NSGA-III, TPE, GP) as
Optuna's constraint on each trial (``Trial.set_constraint``, set by the searcher), not through
``constraints_func``, which Optuna 5.0 deprecates.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from octsearch.errors import ConfigError, unknown_name

SAMPLER_NAMES = ("nsga2", "nsga3", "tpe", "random", "qmc", "gp")
# Samplers that read trials' constraints (the FLOPs budget); the others ignore them.
CONSTRAINED = frozenset({"nsga2", "nsga3", "tpe", "gp"})


def check_sampler(name: str) -> str:
    if name not in SAMPLER_NAMES:
        raise unknown_name("sampler", name, SAMPLER_NAMES)
    return name


def population_for(trials: int) -> int:
    """NSGA population sized so that at least three generations fit in the budget."""
    return max(4, min(50, trials // 4))


def make_sampler(name: str, trials: int, seed: int, args: Mapping[str, Any] | None = None,
                 constrained: bool = False) -> Any:
    """Build sampler ``name`` for a search of ``trials`` trials; ``args`` override our defaults.

    ``constrained`` (a search with a FLOPs budget) changes nothing here: each trial carries the
    constraint, and the samplers in :data:`CONSTRAINED` read it from there."""
    import optuna

    check_sampler(name)
    args = dict(args or {})
    startup = max(4, min(10, trials // 5))
    factories: dict[str, Callable[[], Any]] = {
        "nsga2": lambda: optuna.samplers.NSGAIISampler(
            **{"population_size": population_for(trials), "seed": seed, **args}),
        "nsga3": lambda: optuna.samplers.NSGAIIISampler(
            **{"population_size": population_for(trials), "seed": seed, **args}),
        "tpe": lambda: optuna.samplers.TPESampler(
            **{"n_startup_trials": startup, "multivariate": True, "seed": seed, **args}),
        "random": lambda: optuna.samplers.RandomSampler(**{"seed": seed, **args}),
        "qmc": lambda: optuna.samplers.QMCSampler(**{"qmc_type": "sobol", "scramble": True, "seed": seed,
                                                     "warn_independent_sampling": False, **args}),
        "gp": lambda: optuna.samplers.GPSampler(**{"n_startup_trials": startup, "seed": seed, **args}),
    }
    try:
        return factories[name]()
    except TypeError as e:
        raise ConfigError(f"sampler {name}: bad argument(s) {sorted(args)} ({e})") from None
