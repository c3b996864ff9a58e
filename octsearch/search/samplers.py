"""Optuna samplers by name, sized to the search's budget."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from octsearch.errors import ConfigError, unknown_name

SAMPLER_NAMES = ("nsga2", "nsga3", "tpe", "random", "qmc", "gp")
# Samplers that take Optuna's ``constraints_func`` (the FLOPs budget).
CONSTRAINED = frozenset({"nsga2", "nsga3", "tpe", "gp"})
CONSTRAINT_ATTR = "flops_over_budget"


def check_sampler(name: str) -> str:
    if name not in SAMPLER_NAMES:
        raise unknown_name("sampler", name, SAMPLER_NAMES)
    return name


def flops_constraint(trial: Any) -> Sequence[float]:
    """Optuna constraint: multiply-adds over the FLOPs budget (<= 0 is feasible)."""
    return (float(trial.user_attrs.get(CONSTRAINT_ATTR, 0.0)),)


def population_for(trials: int) -> int:
    """NSGA population sized so that at least three generations fit in the budget."""
    return max(4, min(50, trials // 4))


def make_sampler(name: str, trials: int, seed: int, args: Mapping[str, Any] | None = None,
                 constrained: bool = False) -> Any:
    """Build sampler ``name`` for a search of ``trials`` trials; ``args`` override our defaults."""
    import optuna

    check_sampler(name)
    args = dict(args or {})
    startup = max(4, min(10, trials // 5))
    constraints: dict[str, Callable] = (
        {"constraints_func": flops_constraint} if constrained and name in CONSTRAINED else {}
    )
    factories: dict[str, Callable[[], Any]] = {
        "nsga2": lambda: optuna.samplers.NSGAIISampler(
            **{"population_size": population_for(trials), "seed": seed, **constraints, **args}),
        "nsga3": lambda: optuna.samplers.NSGAIIISampler(
            **{"population_size": population_for(trials), "seed": seed, **constraints, **args}),
        "tpe": lambda: optuna.samplers.TPESampler(
            **{"n_startup_trials": startup, "multivariate": True, "seed": seed, **constraints, **args}),
        "random": lambda: optuna.samplers.RandomSampler(**{"seed": seed, **args}),
        "qmc": lambda: optuna.samplers.QMCSampler(**{"qmc_type": "sobol", "scramble": True, "seed": seed,
                                                     "warn_independent_sampling": False, **args}),
        "gp": lambda: optuna.samplers.GPSampler(**{"n_startup_trials": startup, "seed": seed, **constraints, **args}),
    }
    try:
        return factories[name]()
    except TypeError as e:
        raise ConfigError(f"sampler {name}: bad argument(s) {sorted(args)} ({e})") from None
