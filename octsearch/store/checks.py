"""Input checks of the store's writes: a one-line ConfigError naming the value, before any SQL."""

from __future__ import annotations

from collections.abc import Sequence

from octsearch.errors import ConfigError
from octsearch.store.models import SEARCH_KINDS
from octsearch.store.records import OBJECTIVES, SearchSpec

FAILURE_STATUSES = ("failed", "pruned", "infeasible", "lost", "interrupted")


def check_spec(spec: SearchSpec) -> None:
    if not isinstance(spec.name, str) or not spec.name.strip() or len(spec.name) > 200:
        raise ConfigError(f"search name {spec.name!r} must be 1 to 200 characters")
    bad = [o for o in spec.objectives if o not in OBJECTIVES]
    if bad or "accuracy" not in spec.objectives or len(spec.objectives) < 2:
        raise ConfigError(
            f"objectives {list(spec.objectives)!r} must include 'accuracy' and at least one of: "
            + ", ".join(o for o in OBJECTIVES if o != "accuracy")
        )
    if not 0 <= spec.reference_accuracy < 1:
        raise ConfigError(
            f"reference accuracy {spec.reference_accuracy!r} must be a fraction in [0, 1) (chance level)"
        )
    if spec.kind not in SEARCH_KINDS or (spec.kind == "replay") != bool(spec.source):
        raise ConfigError(f"search kind {spec.kind!r} with source {spec.source!r}; accepted: one of "
                          f"{', '.join(SEARCH_KINDS)}, a source table exactly for a replay")
    if int(spec.reference_flops) <= 0:
        raise ConfigError(
            f"reference FLOPs {spec.reference_flops!r} must be the positive multiply-adds of the alpha-0 network"
        )


def opt_int(name: str, value: int | None) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or int(value) != value or value < 0:
        raise ConfigError(f"{name} {value!r} must be a non-negative whole number")
    return int(value)


def check_evaluation(
    seed: int, accuracy: float, n_val: int, budget: str, epochs: Sequence[float] | None
) -> None:
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ConfigError(f"seed {seed!r} must be an integer")
    if not isinstance(accuracy, (int, float)) or not 0 <= accuracy <= 1:
        raise ConfigError(f"accuracy {accuracy!r} must be a fraction in [0, 1] (validation split)")
    if isinstance(n_val, bool) or not isinstance(n_val, int) or n_val <= 0:
        raise ConfigError(f"validation size {n_val!r} must be a positive integer")
    if not isinstance(budget, str) or not budget or len(budget) > 50:
        raise ConfigError(f"budget {budget!r} must be 'proxy', 'full' or e.g. 'epochs=10'")
    if epochs is not None and any(not 0 <= a <= 1 for a in epochs):
        raise ConfigError(f"epoch accuracies {list(epochs)!r} must be fractions in [0, 1]")


def check_choice(kind: str, value: str | None, choices: tuple[str, ...]) -> None:
    """``value`` must be one of ``choices`` (None passes: no filter)."""
    if value is not None and value not in choices:
        raise ConfigError(f"{kind} {value!r} is not one of: {', '.join(choices)}")


def check_limit(limit: int | None) -> None:
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise ConfigError(f"limit={limit!r}; accepted: an integer >= 1, or none for every trial")

