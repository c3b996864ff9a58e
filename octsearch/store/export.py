"""Choosing one trial of a search and writing it as an export file.

Rules (exactly one): the most accurate trial within a FLOPs cap, the cheapest trial reaching an
accuracy, the knee of the front (see :func:`octsearch.pareto.knee_index`), or a trial by
number. Results re-validated at the "full" budget are preferred when the search has any.

Returns typed values only (:class:`Selection`, :class:`NothingFits`); the CLI words them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from operator import attrgetter
from typing import Any, Literal

from octsearch.config_file import ModelConfig
from octsearch.errors import ConfigError
from octsearch.pareto import knee_index, non_dominated
from octsearch.store.records import PROXY_BUDGET, TrialRecord
from octsearch.store.store import Store

FULL_BUDGET = "full"
Rule = Literal["max_flops", "min_accuracy", "knee", "trial"]
Cost = Callable[[TrialRecord], int]  # a trial's FLOPs in the search's convention (multiply-adds)


@dataclass(frozen=True)
class Selection:
    """The chosen trial, the budget its accuracy comes from, and the rule that chose it.

    ``bound`` is the rule's value: multiply-adds for "max_flops" (in the search's FLOPs
    convention), a fraction of the validation split for "min_accuracy", the trial number for
    "trial", None for "knee". ``front_size`` counts the (accuracy, FLOPs) front the rule chose
    from (None for "trial").
    """

    trial: TrialRecord
    budget: str
    rule: Rule
    bound: float | None = None
    front_size: int | None = None


class NothingFits(ConfigError):
    """No front member meets the bound of ``rule``; ``closest`` is the member nearest to it."""

    def __init__(self, search: str, rule: Rule, bound: float, closest: TrialRecord) -> None:
        super().__init__(
            f"no complete trial of search {search!r} meets {rule}={bound!r}; "
            f"the closest is trial {closest.number}"
        )
        self.search, self.rule, self.bound, self.closest = search, rule, bound, closest


def preferred_budget(store: Store, search: str, number: int | None = None) -> str:
    """"full" when the search (or trial ``number``) has full-budget results, else "proxy"."""
    if number is not None:
        return FULL_BUDGET if store.evaluations(search, number, FULL_BUDGET) else PROXY_BUDGET
    return FULL_BUDGET if FULL_BUDGET in store.budgets(search) else PROXY_BUDGET


def select_trial(
    store: Store,
    search: str,
    *,
    max_flops: float | None = None,
    min_accuracy: float | None = None,
    knee: bool = False,
    trial: int | None = None,
    budget: str | None = None,
) -> Selection:
    """Pick one complete trial. ``max_flops`` is in multiply-adds in the search's FLOPs
    convention (``SearchRecord.flops_key``), ``min_accuracy`` a fraction of the validation
    split. An unmet bound raises :class:`NothingFits` naming the closest trial."""
    rules = [max_flops is not None, min_accuracy is not None, bool(knee), trial is not None]
    if sum(rules) != 1:
        raise ConfigError("choose exactly one of: max_flops, min_accuracy, knee, trial")
    if trial is not None:
        return _by_number(store, search, trial, budget)
    budget = budget or preferred_budget(store, search)
    cost = attrgetter(store.get_search(search).flops_key)
    front = _cost_front(store, search, budget, cost)
    if max_flops is not None:
        return _most_accurate_within(search, budget, front, cost, max_flops)
    if min_accuracy is not None:
        return _cheapest_reaching(search, budget, front, cost, min_accuracy)
    i = knee_index([t.accuracy for t in front], [cost(t) for t in front])
    return Selection(front[i], budget, "knee", None, len(front))


def _cost_front(store: Store, search: str, budget: str, cost: Cost) -> list[TrialRecord]:
    """The (accuracy, FLOPs) front inside a front over more objectives."""
    members = [t for t in store.front(search, budget) if cost(t) is not None and t.accuracy is not None]
    if not members:
        raise ConfigError(f"search {search!r} has no complete trial at budget {budget!r} to export")
    keep = non_dominated([(t.accuracy, cost(t)) for t in members], ["max", "min"])  # type: ignore[misc]
    return [members[i] for i in keep]


def _most_accurate_within(
    search: str, budget: str, front: list[TrialRecord], cost: Cost, max_flops: float
) -> Selection:
    fits = [t for t in front if cost(t) <= max_flops]
    if not fits:
        closest = min(front, key=lambda t: (cost(t), -t.accuracy))
        raise NothingFits(search, "max_flops", max_flops, closest)
    chosen = max(fits, key=lambda t: (t.accuracy, -cost(t)))
    return Selection(chosen, budget, "max_flops", max_flops, len(front))


def _cheapest_reaching(
    search: str, budget: str, front: list[TrialRecord], cost: Cost, min_accuracy: float
) -> Selection:
    fits = [t for t in front if t.accuracy >= min_accuracy]
    if not fits:
        closest = max(front, key=lambda t: (t.accuracy, -cost(t)))
        raise NothingFits(search, "min_accuracy", min_accuracy, closest)
    chosen = min(fits, key=lambda t: (cost(t), -t.accuracy))
    return Selection(chosen, budget, "min_accuracy", min_accuracy, len(front))


def _by_number(store: Store, search: str, number: int, budget: str | None) -> Selection:
    budget = budget or preferred_budget(store, search, number)
    if budget == PROXY_BUDGET:
        record = store.trial(search, number)
    else:
        scored = {t.number: t for t in store.scored_trials(search, budget)}
        if number not in scored:
            raise ConfigError(f"trial {number} of search {search!r} has no result at budget {budget!r}")
        record = scored[number]
    if record.status != "complete" or record.accuracy is None:
        raise ConfigError(
            f"trial {number} of search {search!r} is {record.status}; only complete trials can be exported"
        )
    return Selection(record, budget, "trial", number)


def export_config(store: Store, search: str, selection: Selection) -> ModelConfig:
    """The selected trial as an export file's content (``config_file.FORMAT``); the caller adds
    its judgements to ``extra`` and writes the file once (``config_file.write_config``)."""
    record = store.get_search(search)
    t = selection.trial
    return ModelConfig(
        model_name=record.model_name,
        model_args=dict(record.model_args),
        configuration=t.configuration,
        accuracy=t.accuracy,
        accuracy_stderr=t.accuracy_stderr,
        budget=selection.budget,
        search=search,
        trial=t.number,
        extra={"selection": _selection_json(selection), "n_evals": t.n_evals},
    )


def _selection_json(selection: Selection) -> dict[str, Any]:
    """The rule as data, e.g. ``{"rule": "max_flops", "max_flops": 25000000.0}`` (multiply-adds)."""
    bound = {} if selection.bound is None else {selection.rule: selection.bound}
    return {"rule": selection.rule, **bound}
