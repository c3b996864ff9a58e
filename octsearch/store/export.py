"""Choosing one trial of a search and writing it as an export file.

Rules (exactly one): the most accurate trial within a FLOPs cap, the cheapest trial reaching an
accuracy, the knee of the front (see :func:`octsearch.store.front.knee_index`), or a trial by
number. Results re-validated at the "full" budget are preferred when the search has any.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from octsearch.config_file import ModelConfig, write_config
from octsearch.errors import ConfigError
from octsearch.store.front import knee_index, non_dominated
from octsearch.store.records import FLOPS_LABELS, PROXY_BUDGET, TrialRecord
from octsearch.store.store import Store

FULL_BUDGET = "full"


@dataclass(frozen=True)
class Selection:
    """The chosen trial, the budget its accuracy comes from, and why it was chosen."""

    trial: TrialRecord
    budget: str
    rule: str


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
    split. Unmet constraints raise a one-line ConfigError naming the closest trial."""
    rules = [max_flops is not None, min_accuracy is not None, bool(knee), trial is not None]
    if sum(rules) != 1:
        raise ConfigError("choose exactly one of: max_flops, min_accuracy, knee, trial")
    if trial is not None:
        return _by_number(store, search, trial, budget)
    budget = budget or preferred_budget(store, search)
    record = store.get_search(search)
    key = record.flops_key

    def cost(t: TrialRecord) -> int:
        return getattr(t, key)

    def g(value: float) -> str:
        share = value / record.reference_flops
        return f"{value / 1e9:.4f} GFLOPs ({FLOPS_LABELS[key]} multiply-adds, {share:.0%} of alpha 0)"

    members = [t for t in store.front(search, budget) if cost(t) is not None and t.accuracy is not None]
    if not members:
        raise ConfigError(f"search {search!r} has no complete trial at budget {budget!r} to export")
    # the (accuracy, FLOPs) front inside a front over more objectives
    front = [members[i] for i in non_dominated([(t.accuracy, cost(t)) for t in members], ["max", "min"])]
    if max_flops is not None:
        fits = [t for t in front if cost(t) <= max_flops]
        if not fits:
            closest = min(front, key=lambda t: (cost(t), -t.accuracy))
            raise ConfigError(
                f"no complete trial of search {search!r} has at most {g(max_flops)}; the closest "
                f"is trial {closest.number} with {g(cost(closest))} at {closest.accuracy:.2%} val accuracy"
            )
        chosen = max(fits, key=lambda t: (t.accuracy, -cost(t)))
        return Selection(chosen, budget, f"most accurate within {g(max_flops)}")
    if min_accuracy is not None:
        fits = [t for t in front if t.accuracy >= min_accuracy]
        if not fits:
            closest = max(front, key=lambda t: (t.accuracy, -cost(t)))
            raise ConfigError(
                f"no complete trial of search {search!r} reaches {min_accuracy:.2%} val accuracy; "
                f"the closest is trial {closest.number} with {closest.accuracy:.2%} at {g(cost(closest))}"
            )
        chosen = min(fits, key=lambda t: (cost(t), -t.accuracy))
        return Selection(chosen, budget, f"cheapest reaching {min_accuracy:.2%} val accuracy")
    i = knee_index([t.accuracy for t in front], [cost(t) for t in front])
    return Selection(front[i], budget, f"knee of the front of {len(front)}")


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
    return Selection(record, budget, f"trial {number}")


def export_config(store: Store, search: str, path: str | Path, selection: Selection) -> ModelConfig:
    """Write the selected trial as an ``octsearch-config/1`` file and return what was written."""
    record = store.get_search(search)
    t = selection.trial
    config = ModelConfig(
        model_name=record.model_name,
        model_args=dict(record.model_args),
        alphas=dict(t.alphas),
        flops_paper=t.flops_paper,
        flops_all=t.flops_all,
        params=t.params,
        accuracy=t.accuracy,
        accuracy_stderr=t.accuracy_stderr,
        budget=selection.budget,
        search=search,
        trial=t.number,
        extra={"selection": selection.rule, "n_evals": t.n_evals},
    )
    write_config(path, config)
    from octsearch.config_file import read_config

    return read_config(path)
