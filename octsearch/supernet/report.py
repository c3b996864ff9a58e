"""The report of a screen and confirm, read from the store: how well the supernet ranked what was
confirmed, the stand-alone front, and the model of the space on both budgets.

Units (:data:`UNITS`): accuracies in points of validation accuracy (percent of the space's
validation split; the supernet scores on the same split as the stand-alone proxy); FLOPs in
multiply-adds at batch 1 (1 fused multiply-add = 1 FLOP) in the search's convention. Reads only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from octsearch.errors import ConfigError
from octsearch.store import FLOPS_LABELS
from octsearch.supernet.budget_model import BudgetModel, fit_both_budgets
from octsearch.supernet.settings import SUPERNET_BUDGET
from octsearch.validate.agreement import KendallTau, kendall_tau

if TYPE_CHECKING:
    from octsearch.store import Store

UNITS = ("accuracy: points of validation accuracy (percent of the validation split, the same split for the "
         "supernet and the stand-alone proxy); FLOPs: multiply-adds at batch 1, 1 fused multiply-add = 1 FLOP")


@dataclass(frozen=True)
class Confirmed:
    """One confirmed configuration: its ``supernet`` score and its ``standalone`` proxy accuracy
    (mean over its proxy seeds; None while not complete), in points; ``flops`` in the search's
    convention; ``on_front`` of the stand-alone front."""

    params: dict[str, float]
    supernet: float | None
    standalone: float | None
    flops: int
    on_front: bool


@dataclass(frozen=True)
class ConfirmReport:
    search: str
    companion: str
    flops_label: str
    confirmed: tuple[Confirmed, ...]
    agreement: KendallTau  # supernet score against stand-alone proxy accuracy, over the confirmed
    hypervolume: float  # of the stand-alone front: accuracy (fraction) x share of alpha-0 FLOPs saved
    model: BudgetModel | None
    model_missing: str | None  # why there is no model (one line), else None
    units: str = UNITS

    @property
    def front(self) -> tuple[Confirmed, ...]:
        """The stand-alone front, cheapest first."""
        return tuple(sorted((c for c in self.confirmed if c.on_front), key=lambda c: c.flops))


def confirm_report(store: Store, search: str, companion: str) -> ConfirmReport:
    """The report of search ``search`` confirmed from the supernet scores in ``companion``."""
    record = store.get_search(search)
    supernet = {t.configuration.key: 100 * t.accuracy for t in store.scored_trials(companion, SUPERNET_BUDGET)}
    confirmed = tuple(
        Confirmed(t.configuration.by_param, supernet.get(t.configuration.key), None if t.accuracy is None else 100 * t.accuracy,
                  int(getattr(t, record.flops_key)), t.on_front)
        for t in store.trials(search) if t.configuration.key in supernet)
    try:
        model, missing = fit_both_budgets(store, search, companion), None
    except ConfigError as e:
        model, missing = None, str(e)
    label = FLOPS_LABELS.get(record.flops_key, record.flops_key)
    return ConfirmReport(search, companion, label, confirmed, rank_agreement(confirmed),
                         store.hypervolume(search), model, missing)


def rank_agreement(confirmed: tuple[Confirmed, ...]) -> KendallTau:
    """Kendall tau-b (scipy, with n and the two-sided p) over the configurations with both accuracies."""
    pairs = [(c.supernet, c.standalone) for c in confirmed if c.supernet is not None and c.standalone is not None]
    return kendall_tau([a for a, _ in pairs], [b for _, b in pairs])
