"""What re-validation found: proxy against larger-budget accuracy, read back from the store.

Accuracies are fractions of the validation split; each is the mean over a configuration's
evaluations at that budget with the standard error of :func:`octsearch.store.records.aggregate`
(binomial error of the split plus the spread across seeds). FLOPs are multiply-adds in the
search's convention (``SearchRecord.flops_key``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from octsearch.validate.agreement import (
    KendallTau,
    Survival,
    front_survival,
    kendall_tau,
    pooled_std,
)


@dataclass(frozen=True)
class Comparison:
    """One configuration scored at the proxy and at the larger budget."""

    trial: int
    alphas: Mapping[str, float]
    flops: int | None
    proxy_accuracy: float | None
    proxy_stderr: float | None
    proxy_evals: int
    accuracy: float
    stderr: float | None
    seeds: tuple[int, ...]
    seed_accuracies: tuple[float, ...]
    uniform_alpha: float | None
    on_proxy_front: bool
    on_front: bool  # at the larger budget


@dataclass(frozen=True)
class RevalidationReport:
    """Every configuration of ``search`` with evaluations at ``budget``, cheapest first.

    ``tau``: Kendall tau-b between proxy and ``budget`` mean accuracy over the configurations that
    have both. ``survival``: proxy-front members among them that stay on the ``budget`` front.
    ``noise_std``: seed-to-seed standard deviation of accuracy at ``budget`` (fraction), pooled
    over ``noise_groups`` configurations with two seeds or more.
    """

    search: str
    budget: str
    flops_key: str
    reference_flops: int
    rows: tuple[Comparison, ...]
    tau: KendallTau
    survival: Survival
    noise_std: float
    noise_groups: int

    @property
    def front(self) -> tuple[Comparison, ...]:
        return tuple(r for r in self.rows if r.on_front)


def build_report(store: Any, search: str, budget: str) -> RevalidationReport:
    """Compare the proxy and ``budget`` results stored for ``search`` (no training)."""
    from octsearch.store import OBJECTIVES

    record = store.get_search(search)
    proxy = {t.number: t for t in store.trials(search)}
    proxy_front = [t.number for t in store.front(search)]
    evals: dict[int, list[Any]] = {}
    if budget in store.budgets(search):
        for e in store.evaluations(search, budget=budget):
            evals.setdefault(e.trial, []).append(e)
        scored = store.scored_trials(search, budget)
    else:
        scored = []
    objectives = list(record.objectives)
    directions = [OBJECTIVES[o][1] for o in objectives]
    points = {t.number: [t.objective(o) for o in objectives] for t in scored}
    points = {n: p for n, p in points.items() if all(v is not None for v in p)}
    survival = front_survival(proxy_front, points, directions)  # type: ignore[arg-type]
    on_front, on_proxy = set(survival.front), set(proxy_front)
    rows = []
    for t in scored:
        p, es = proxy[t.number], evals[t.number]
        rows.append(Comparison(
            trial=t.number, alphas=dict(t.configuration.by_slot), flops=getattr(t, record.flops_key),
            proxy_accuracy=p.accuracy if p.status == "complete" else None, proxy_stderr=p.accuracy_stderr,
            proxy_evals=p.n_evals, accuracy=float(t.accuracy), stderr=t.accuracy_stderr,
            seeds=tuple(e.seed for e in es), seed_accuracies=tuple(e.accuracy for e in es),
            uniform_alpha=t.uniform_alpha if t.is_uniform else None,
            on_proxy_front=t.number in on_proxy, on_front=t.number in on_front,
        ))
    rows.sort(key=lambda r: (r.flops if r.flops is not None else 0, -r.accuracy, r.trial))
    paired = [r for r in rows if r.proxy_accuracy is not None]
    tau = kendall_tau([r.proxy_accuracy for r in paired], [r.accuracy for r in paired])  # type: ignore[misc]
    noise, groups = pooled_std(r.seed_accuracies for r in rows)
    return RevalidationReport(search, budget, record.flops_key, record.reference_flops, tuple(rows), tau,
                              survival, noise, groups)
