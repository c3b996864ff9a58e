"""What to re-validate: the budget, the configurations and the seeds (no Ray, no torch).

Configurations: the proxy front's members (the ``top`` most accurate, or all) and the
uniform-alpha points (the baseline a per-layer allocation must beat), ``seeds`` evaluations each.
With ``versus_uniform``: exactly the front members whose gain over uniform alpha is not yet
significant but could be, and their uniform rivals, each with the evaluations the power
calculation of :mod:`octsearch.store.versus_uniform` asks for (at most ``seeds``, else
:data:`VERSUS_UNIFORM_CAP`). Seeds: the first ones from
:data:`FULL_SEED_BASE` upwards that the configuration has used neither at the proxy budget (a
shared seed would share initial weights and batch order) nor at the target budget, until it has
``seeds`` evaluations there. The plan is deterministic, so a rerun repeats nothing it stored.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from octsearch.configuration import Configuration
from octsearch.errors import ConfigError

if TYPE_CHECKING:
    from octsearch.store import Store, Verdict

FULL_BUDGET = "full"
FULL_SEED_BASE = 1000  # far from the proxy seeds (the budget seed, then repeats counting up)
DEFAULT_SEEDS = 2  # evaluations per configuration at the budget, unless --seeds says
VERSUS_UNIFORM_CAP = 10  # evaluations per configuration when --seeds does not cap the power calculation


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


@dataclass(frozen=True)
class Chosen:
    """The configurations to re-validate (store TrialRecords, by number), which of them are front
    members, the evaluations each should have at the budget, and the verdict that chose them."""

    trials: tuple[Any, ...]
    members: frozenset[int]
    wants: Mapping[int, int] = field(default_factory=dict)
    verdict: Verdict | None = None


def choose_trials(store: Store, search: str, front: Sequence[Any], trials: Sequence[Any], *, label: str,
                  top: int | None, seeds: int | None, versus_uniform: bool) -> Chosen:
    """The configurations and their evaluations wanted at ``label`` (see the module docstring)."""
    if not versus_uniform:
        selected = select_trials(front, trials, top)
        members = frozenset(t.number for t in select_trials(front, [], top))
        return Chosen(tuple(selected), members, {t.number: seeds or DEFAULT_SEEDS for t in selected})
    if top is not None:
        raise ConfigError("--top and --versus-uniform both choose the configurations; give one of them")
    verdict = judge_versus_uniform(store, search, label)
    return select_versus_uniform(verdict, trials, seeds or VERSUS_UNIFORM_CAP)


def judge_versus_uniform(store: Store, search: str, label: str) -> Verdict:
    """The verdict at the target budget once it has a uniform-alpha result, else at the proxy
    budget: a rerun sizes its seeds on what the earlier runs measured."""
    from octsearch.store import versus_uniform

    if label in store.budgets(search):
        try:
            return versus_uniform(store, search, label)
        except ConfigError:  # nothing uniform re-validated yet
            pass
    return versus_uniform(store, search)


def select_versus_uniform(verdict: Verdict, trials: Sequence[Any], cap: int) -> Chosen:
    """Each front member that is not significant but that more seeds could settle, and its rival,
    with the seeds the power calculation asks for (at most ``cap``; a shared rival: the most)."""
    wants: dict[int, int] = {}
    open_ = [c for c in verdict.compared if not c.significant and c.seeds_needed is not None]
    for c in open_:
        for number in (c.member, c.rival):
            wants[number] = max(wants.get(number, 0), min(c.seeds_needed, cap))  # type: ignore[index,type-var]
    if not wants:
        raise ConfigError(_nothing_to_settle(verdict))
    by_number = {t.number: t for t in trials}
    chosen = tuple(by_number[n] for n in sorted(wants))
    return Chosen(chosen, frozenset(c.member for c in open_), wants, verdict)


def _nothing_to_settle(v: Verdict) -> str:
    counts = {k: sum(c.settle == k for c in v.compared) for k in ("significant", "split", "not_ahead")}
    return (f"search {v.search!r} at budget {v.budget}: no front member's verdict against uniform alpha is open "
            f"to more seeds ({counts['significant']} significant, {counts['not_ahead']} not ahead, "
            f"{counts['split']} below what the validation split resolves, of {v.levels} compared); nothing to re-validate")
