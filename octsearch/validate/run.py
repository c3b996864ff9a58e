"""``revalidate``: train a search's front (and its uniform-alpha points) again at a larger budget.

Lifecycle: check every input (counts, budget, cluster address, search name, stored space) before
Ray starts or anything is written -> select the configurations -> plan the seeds each still needs
at that budget (a rerun plans nothing already stored) -> Ray tasks train them, the driver storing
each result as it finishes -> compare the rankings (:func:`~octsearch.validate.report.build_report`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from octsearch.errors import ConfigError
from octsearch.search.cluster import stop_on_sigint
from octsearch.spaces import space_from_text
from octsearch.validate.report import RevalidationReport, build_report
from octsearch.validate.selection import (
    FULL_BUDGET,
    Job,
    check_count,
    choose_trials,
    parse_budget,
    plan_seeds,
)
from octsearch.validate.tasks import (
    JobOutcome,
    RunCounts,
    run_jobs,
    with_epochs,
)

if TYPE_CHECKING:
    from octsearch.store import Verdict


@dataclass(frozen=True)
class RevalidateOptions:
    """``top``: how many front members (most accurate at the proxy budget first; None: all).
    ``budget``: "full" or a number of epochs. ``seeds``: evaluations each configuration should have
    at that budget (None: ``selection.DEFAULT_SEEDS``; with ``versus_uniform`` the cap on the power
    calculation's ask, see :mod:`~octsearch.validate.selection`). ``concurrency``: tasks at a time
    (default: the space's sampler concurrency)."""

    name: str
    top: int | None = None
    budget: str = FULL_BUDGET
    seeds: int | None = None
    concurrency: int | None = None
    address: str | None = None
    db: str | None = None
    versus_uniform: bool = False


@dataclass(frozen=True)
class Plan:
    """What a run will do: ``jobs`` to train; ``selected`` trial numbers (``front_members`` of them
    from the proxy front); ``stored``: evaluations at the budget the selection already had."""

    search: str
    label: str
    epochs: int
    proxy_epochs: int
    selected: tuple[int, ...]
    front_members: tuple[int, ...]
    uniform: tuple[int, ...]
    jobs: tuple[Job, ...]
    stored: int
    concurrency: int
    address: str | None
    seeds: tuple[int, ...] = ()  # evaluations wanted at the budget, per selected trial
    verdict: Verdict | None = None  # the verdict against uniform alpha that chose them, if one did


def prepare(opts: RevalidateOptions) -> tuple[Any, Any, Plan]:
    """Every check that can fail on user input, then the plan; nothing written, no Ray started.

    Returns (store, driver-side space, plan)."""
    from octsearch.search.cluster import check_address
    from octsearch.store import open_store

    seeds = check_count("--seeds", opts.seeds)
    top = check_count("--top", opts.top)
    concurrency = check_count("--concurrency", opts.concurrency)
    choice = parse_budget(opts.budget)
    address = check_address(opts.address)
    store = open_store(opts.db, create=False)
    try:
        record = store.get_search(opts.name)  # unknown: the error lists the names
        space = space_from_text(record.space_text, opts.name)
        trials = store.trials(opts.name)
        front = store.front(opts.name)
        chosen = choose_trials(store, opts.name, front, trials, label=choice.label, top=top, seeds=seeds,
                               versus_uniform=opts.versus_uniform)
        selected = list(chosen.trials)
        if not selected:
            raise ConfigError(f"search {opts.name!r} has no complete trials to re-validate; run `octsearch launch` first")
        members = chosen.members
        evals = store.evaluations(opts.name)
        jobs, stored = [], 0
        for t in selected:
            configuration = space.from_slots(t.configuration.by_slot)  # the stored alphas, checked by the space
            mine = [e for e in evals if e.trial == t.number]
            at_budget = [e.seed for e in mine if e.budget == choice.label]
            used = {e.seed for e in mine if e.budget in ("proxy", choice.label)}
            stored += min(len(at_budget), chosen.wants[t.number])
            for seed in plan_seeds(used, len(at_budget), chosen.wants[t.number]):
                jobs.append(Job(t.number, configuration, seed, choice.label, FULL_BUDGET, choice.epochs))
    except BaseException:
        store.close()
        raise
    trained = with_epochs(space, FULL_BUDGET, choice.epochs)
    plan = Plan(
        search=opts.name, label=choice.label, epochs=trained.budget(FULL_BUDGET).epochs,
        proxy_epochs=space.budget("proxy").epochs, selected=tuple(t.number for t in selected),
        front_members=tuple(sorted(members)), uniform=tuple(t.number for t in selected if t.is_uniform),
        jobs=tuple(jobs), stored=stored, concurrency=concurrency or space.sampler.concurrency, address=address,
        seeds=tuple(chosen.wants[t.number] for t in selected), verdict=chosen.verdict,
    )
    return store, trained, plan


@dataclass(frozen=True)
class RevalidateResult:
    plan: Plan
    counts: RunCounts
    failures: tuple[JobOutcome, ...]
    report: RevalidationReport


def revalidate(
    opts: RevalidateOptions,
    on_plan: Callable[[Plan], None] | None = None,
    on_outcome: Callable[[JobOutcome], None] | None = None,
) -> RevalidateResult:
    """Re-validate the search ``opts.name``; every result is stored as it finishes.

    ``on_plan`` sees the plan before Ray starts; ``on_outcome`` every finished or failed job after
    it is stored. A first Ctrl-C stops cleanly (the result says ``counts.stopped``); a rerun
    continues where it stopped.
    """
    from octsearch.search.cluster import ray_session

    store, space, plan = prepare(opts)
    failures: list[JobOutcome] = []

    def record(outcome: JobOutcome) -> None:
        r, job = outcome.result, outcome.job
        if r is not None:
            try:
                store.record_evaluation(
                    plan.search, job.trial, seed=job.seed, accuracy=r.accuracy, n_val=r.n_val, budget=job.label,
                    train_seconds=r.train_seconds, node=outcome.node, epoch_accuracies=list(r.epoch_accuracies),
                )
            except ConfigError as e:  # e.g. the same seed stored meanwhile by another revalidate
                outcome = replace(outcome, result=None, error=f"not stored: {e}")
        if outcome.result is None:
            failures.append(outcome)
        if on_outcome is not None:
            on_outcome(outcome)

    with store:
        if on_plan is not None:
            on_plan(plan)
        counts = RunCounts(0, 0, 0, False)
        if plan.jobs:
            with ray_session(plan.address), stop_on_sigint() as should_stop:
                counts = run_jobs(plan.jobs, space, concurrency=plan.concurrency, on_outcome=record,
                                  should_stop=should_stop)
        report = build_report(store, plan.search, plan.label)
    return RevalidateResult(plan, counts, tuple(failures), report)
