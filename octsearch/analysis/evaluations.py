"""A search's stored evaluations at one budget, as one pandas frame for the models of a search.

Read through the store's public facade only (:meth:`Store.get_search`, :meth:`Store.trials`,
:meth:`Store.evaluations`, :meth:`Store.budgets`); nothing is written. A table (kind ``table``) is a
search like any other here.

Frame columns: ``trial`` (the configuration), ``seed``, ``accuracy`` in points (percent of the
validation split), ``flops`` in multiply-adds at batch 1 in the search's convention (its FLOPs
objective: ``flops_paper`` = conv + fc, the paper's, or ``flops_all`` = every operator), and one
column per searched parameter, named by it, holding that parameter's alpha.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from octsearch.errors import ConfigError
from octsearch.store import FLOPS_LABELS

if TYPE_CHECKING:
    import pandas as pd

    from octsearch.store import Store, TrialRecord

FRAME_COLUMNS = ("trial", "seed", "accuracy", "flops")


@dataclass(frozen=True)
class Evaluations:
    """Every evaluation of ``search`` at ``budget`` (see the module docstring for ``frame``).

    ``params`` are the searched parameters in the space's order (the order the network runs);
    ``chance`` is chance accuracy in points (100 / classes); ``budgets`` maps every budget with
    evaluations to their number; ``without_flops`` counts evaluations left out because their
    configuration has no FLOP count in the search's convention."""

    search: str
    kind: str
    budget: str
    flops_key: str
    chance: float
    params: tuple[str, ...]
    frame: pd.DataFrame
    budgets: dict[str, int]
    without_flops: int = 0

    @property
    def flops_label(self) -> str:
        """What the FLOPs count: 'conv+fc' (the paper's convention) or 'all ops'."""
        return FLOPS_LABELS.get(self.flops_key, self.flops_key)


def read_evaluations(store: Store, search: str, budget: str | None = None) -> Evaluations:
    """The evaluations of ``search`` at ``budget`` (default: the budget with the most evaluations).

    An unknown search raises the store's UnknownNameError (it lists the names); a budget without
    evaluations raises ConfigError listing the budgets that have some.
    """
    import pandas as pd

    record = store.get_search(search)
    budgets = store.budgets(search)
    chosen = pick_budget(search, budgets, budget)
    trials = {t.number: t for t in store.trials(search)}
    params = _params(trials.values())
    rows, without_flops = [], 0
    for e in store.evaluations(search, budget=chosen):
        trial = trials[e.trial]
        flops = getattr(trial, record.flops_key)
        if flops is None:
            without_flops += 1
            continue
        alphas = trial.configuration.by_param
        rows.append((e.trial, e.seed, 100.0 * e.accuracy, float(flops),
                     *(alphas.get(p, float("nan")) for p in params)))
    frame = pd.DataFrame(rows, columns=[*FRAME_COLUMNS, *params])
    return Evaluations(search, record.kind, chosen, record.flops_key, 100.0 * record.reference_accuracy,
                       params, frame, dict(budgets), without_flops)


def pick_budget(search: str, budgets: dict[str, int], budget: str | None) -> str:
    """``budget`` if it has evaluations, else a one-line error; None: the one with the most
    (ties: the first by name)."""
    listed = ", ".join(f"{b} ({n})" for b, n in sorted(budgets.items())) or "none"
    if budget is None:
        if not budgets:
            raise ConfigError(f"search {search!r} has no stored evaluations yet: nothing to model")
        return min(budgets, key=lambda b: (-budgets[b], b))
    if budgets.get(budget, 0) == 0:
        raise ConfigError(f"search {search!r} has no evaluations at budget {budget!r}; "
                          f"budgets with evaluations (count): {listed}")
    return budget


def _params(trials: Iterable[TrialRecord]) -> tuple[str, ...]:
    """The searched parameters in the space's order (a configuration's own order), first seen first."""
    seen: dict[str, None] = {}
    for t in trials:
        seen.update(dict.fromkeys(t.configuration.by_param))
    return tuple(seen)
