"""Screen and confirm: which configurations the supernet's scores send to stand-alone training.

``launch --evaluator supernet --confirm K`` confirms K configurations: the space's uniform-alpha
points (the paper's curve, always), then the supernet's Pareto layers (supernet accuracy up,
FLOPs down in the space's FLOPs convention), the front first, each layer cheapest first, until K
are chosen. Configurations over the space's FLOPs budget are never chosen (they would be recorded
infeasible, untrained). No torch, Ray or store here: the choice is plain arithmetic on scores.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from octsearch.configuration import Configuration
from octsearch.errors import ConfigError
from octsearch.spaces.space import SearchSpace

EVALUATORS = ("proxy", "supernet")
COMPANION_SUFFIX = ".supernet"  # the search holding the supernet's scores: see companion_name


def companion_name(name: str) -> str:
    """The search that holds the supernet's scores of search ``name``.

    Not ``name`` itself: the screen (every configuration of the space, scored) is kept whole and
    apart from what the launch trains, so that ``trials NAME`` and its front list the stand-alone
    runs only, and a screen is resumed or reused without touching the launch's records."""
    return f"{name}{COMPANION_SUFFIX}"


@dataclass(frozen=True)
class Pick:
    """One configuration to confirm: its supernet score (fraction of the validation split; None
    for a uniform point the supernet did not score), its multiply-adds in the space's
    convention, and its Pareto layer among the supernet's scores (0: a uniform point, chosen
    whatever its score; 1: the supernet's front)."""

    configuration: Configuration
    supernet_accuracy: float | None
    flops: int
    layer: int


def accepted_confirm(space: SearchSpace, scorable: int) -> tuple[int, int]:
    """The range ``--confirm`` accepts: at least the uniform points, at most what the supernet
    scores (``scorable``: every configuration, or the sample of a very large space)."""
    return len(space.uniform_configurations()), min(space.num_configurations, scorable)


def check_confirm(space: SearchSpace, k: object, scorable: int) -> int:
    """``k`` if it is a number of configurations to confirm, else a one-line ConfigError."""
    low, high = accepted_confirm(space, scorable)
    accepted = f"accepted: an integer from {low} to {high:,}"
    if isinstance(k, bool) or not isinstance(k, int):
        raise ConfigError(f"--confirm {k!r}; {accepted}")
    if k > high:
        raise ConfigError(f"--confirm {k} is more than the {high:,} configurations the supernet scores of space "
                          f"{space.name!r}; {accepted}")
    if k < low:
        raise ConfigError(f"--confirm {k} is fewer than the space's {low} uniform-alpha points, which are always "
                          f"confirmed; {accepted}")
    return k


def check_evaluator(evaluator: object, confirm: object, replay: str | None,
                    conflicting: Mapping[str, object]) -> None:
    """One-line errors for options that do not go with the evaluator; ``conflicting``: option ->
    value of the options that would make the confirmation run other than exactly K trials."""
    if evaluator not in EVALUATORS:
        raise ConfigError(f"--evaluator {evaluator!r}; accepted: {', '.join(EVALUATORS)}")
    if evaluator == "proxy":
        if confirm is not None:
            raise ConfigError(f"--confirm {confirm!r} without --evaluator supernet; accepted: --confirm only with "
                              "--evaluator supernet")
        return
    if replay is not None:
        raise ConfigError(f"--evaluator supernet with --replay {replay}: a replay answers from a table and trains no "
                          "supernet; accepted: one of them")
    if confirm is None:
        raise ConfigError("--evaluator supernet without --confirm; accepted: --confirm K, the configurations to "
                          "train stand-alone")
    given = [f"{option} {value}" for option, value in conflicting.items() if value not in (None, False)]
    if given:
        raise ConfigError(f"{', '.join(given)} with --evaluator supernet: the confirmation trains exactly --confirm K "
                          "configurations once each; accepted: none of --trials, --repeats, --early-stop, --seed-from")


def choose_confirmations(space: SearchSpace, scored: Sequence[tuple[Configuration, float]], k: int) -> list[Pick]:
    """The ``k`` configurations to confirm (see the module docstring), uniform points first."""
    from octsearch.pareto import non_dominated

    by_key = {c.key: (c, accuracy) for c, accuracy in scored}
    uniform = space.uniform_configurations()
    picks = [Pick(u, by_key.get(u.key, (u, None))[1], space.flops(u), 0) for u in uniform]
    taken = {u.key for u in uniform}
    left = [(c, a, space.flops(c)) for c, a in by_key.values()
            if c.key not in taken and space.over_budget(c) <= 0]
    layer = 0
    while left and len(picks) < k:
        layer += 1
        front = set(non_dominated([(a, f) for _, a, f in left], ("max", "min")))
        members = sorted((left[i] for i in front), key=lambda m: (m[2], -m[1], m[0].key))  # cheapest first
        picks += [Pick(c, a, f, layer) for c, a, f in members[: k - len(picks)]]
        left = [m for i, m in enumerate(left) if i not in front]
    return picks
