"""What to re-validate: the budget, the configurations and the seeds (pure, no Ray, no torch).

Configurations: the proxy front's members (the ``top`` most accurate, or all) and the
uniform-alpha points (the baseline a per-layer allocation must beat). Seeds: the first ones from
:data:`FULL_SEED_BASE` upwards that the configuration has used neither at the proxy budget (a
shared seed would share initial weights and batch order) nor at the target budget, until it has
``seeds`` evaluations there. The plan is deterministic, so a rerun repeats nothing it stored.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from octsearch.configuration import Configuration
from octsearch.errors import ConfigError

FULL_BUDGET = "full"
FULL_SEED_BASE = 1000  # far from the proxy seeds (the budget seed, then repeats counting up)


@dataclass(frozen=True)
class BudgetChoice:
    """The budget to train at and the label its evaluations are stored under.

    ``epochs`` None: the space's full budget (``budget.full`` applied, label ``"full"``). An
    integer: the full budget's settings with that many epochs (label ``"epochs=N"``).
    """

    label: str
    epochs: int | None = None


@dataclass(frozen=True)
class Job:
    """One training run: the configuration of stored trial ``trial``, one seed.

    ``budget`` is the space's "proxy" or "full" budget, ``epochs`` overrides its epochs; ``label``
    is what the result is stored (or reported) under.
    """

    trial: int
    configuration: Configuration
    seed: int
    label: str
    budget: str = FULL_BUDGET
    epochs: int | None = None


def parse_budget(text: str) -> BudgetChoice:
    """``full``, a number of epochs (``8``) or ``epochs=8``."""
    value = str(text).strip().lower()
    if value == FULL_BUDGET:
        return BudgetChoice(FULL_BUDGET)
    match = re.fullmatch(r"(?:epochs=)?([0-9]+)", value)
    if match and int(match.group(1)) >= 1:
        epochs = int(match.group(1))
        return BudgetChoice(f"epochs={epochs}", epochs)
    raise ConfigError(f"--budget {text!r} is not accepted; use full, or a number of epochs >= 1 (e.g. 8)")


def check_count(option: str, value: int | None) -> int | None:
    """A positive integer option (``--seeds``, ``--top``, ``--concurrency``), or None."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{option} {value!r} is not accepted; use an integer >= 1")
    return value


def select_trials(front: Sequence[Any], trials: Sequence[Any], top: int | None = None) -> list[Any]:
    """The front's ``top`` most accurate members (all when None) plus every complete uniform-alpha
    trial, each once, by trial number. ``front`` and ``trials`` are store TrialRecords."""
    members = sorted(front, key=lambda t: (-(t.accuracy or 0.0), t.number))
    if top is not None:
        members = members[:top]
    uniform = [t for t in trials if t.is_uniform and t.status == "complete"]
    chosen = {t.number: t for t in [*members, *uniform]}
    return [chosen[n] for n in sorted(chosen)]


def plan_seeds(used: Collection[int], have: int, want: int, base: int = FULL_SEED_BASE) -> list[int]:
    """Seeds to add so that a configuration with ``have`` evaluations at the target budget has
    ``want``: the smallest from ``base`` up that are not in ``used`` (its seeds at the proxy and
    at the target budget)."""
    out: list[int] = []
    seed = base
    while len(out) < want - have:
        if seed not in used:
            out.append(seed)
        seed += 1
    return out
