"""``tabulate``: evaluate every configuration of a space (or a sample) with a few seeds, resumably.

Lifecycle: check every input (space, seeds, sample, the name against a stored search, the cluster
address) before Ray starts or anything is written -> register the table (a search of kind
``table``) and each configuration, counted -> plan the (configuration, seed) runs not stored yet,
seed-major, so a stopped table holds one seed of everything first -> Ray tasks train them on the
search's workers, the driver storing each evaluation as it finishes (the records a search writes)
-> mark the table finished or interrupted. A rerun continues where it stopped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from octsearch.configuration import Configuration
from octsearch.errors import ConfigError, UnknownNameError
from octsearch.spaces.space import SearchSpace
from octsearch.store import Store
from octsearch.validate.selection import Job
from octsearch.validate.tasks import JobOutcome, RunCounts

TABLE_SAMPLER = "table"  # what the table's search record names as its sampler: every configuration
DEFAULT_SEEDS = 3


@dataclass(frozen=True)
class TabulateOptions:
    space: str
    name: str
    seeds: int = DEFAULT_SEEDS
    sample: int | None = None  # a stratified sample of this many configurations (None: all)
    sample_seed: int = 0
    concurrency: int | None = None  # tasks at a time (default: the space's sampler concurrency)
    address: str | None = None
    db: str | None = None


@dataclass(frozen=True)
class TablePlan:
    """``configurations`` in the table; ``jobs`` the runs still to train; ``stored`` the runs it
    already holds; ``seeds`` the training seeds every configuration gets."""

    name: str
    configurations: int
    seeds: tuple[int, ...]
    jobs: tuple[Job, ...]
    stored: int
    concurrency: int


@dataclass(frozen=True)
class TabulateResult:
    plan: TablePlan
    counts: RunCounts
    status: str  # finished | interrupted


def _positive(name: str, value: int | None) -> int | None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise ConfigError(f"{name} {value!r}; accepted: an integer >= 1")
    return value


def prepare(opts: TabulateOptions) -> tuple[SearchSpace, Store, list[Configuration]]:
    """Every check that can fail on user input; nothing written, no Ray started."""
    from octsearch.search.cluster import check_address
    from octsearch.spaces import load_space
    from octsearch.store import open_store
    from octsearch.tables.select import table_configurations

    _positive("--seeds", opts.seeds)
    _positive("--concurrency", opts.concurrency)
    space = load_space(opts.space)
    configurations = table_configurations(space, opts.sample, opts.sample_seed)
    check_address(opts.address)
    store = open_store(opts.db)
    try:
        existing = store.get_search(opts.name)
    except UnknownNameError:
        return space, store, configurations
    if existing.kind != "table" or existing.space_hash != space.hash:
        what = "a table of another space file" if existing.kind == "table" else f"a {existing.kind}"
        store.close()
        raise ConfigError(f"{opts.name!r} exists as {what}; accepted: a new --name, or the same space "
                          f"file to continue the table")
    return space, store, configurations


def plan(store: Store, space: SearchSpace, opts: TabulateOptions, configurations: list[Configuration]) -> TablePlan:
    """Register the table and its configurations (counted); the runs each still needs."""
    from octsearch.search.study import register_search

    register_search(store, space, opts.name, TABLE_SAMPLER, space.budget().seed, kind="table")
    store.reconcile_running(opts.name)  # what a killed tabulate left running is trained again
    base = space.budget().seed
    seeds = tuple(range(base, base + opts.seeds))
    numbers = [store.start_trial(opts.name, space.with_cost(c)) for c in configurations]
    done = {(e.trial, e.seed) for e in store.evaluations(opts.name, budget="proxy")}
    jobs = tuple(Job(n, c, s, "proxy", "proxy") for s in seeds
                 for n, c in zip(numbers, configurations, strict=True) if (n, s) not in done)
    stored = sum((n, s) in done for s in seeds for n in numbers)
    concurrency = opts.concurrency or space.sampler.concurrency
    return TablePlan(opts.name, len(configurations), seeds, jobs, stored, concurrency)


def tabulate(opts: TabulateOptions, on_plan: Callable[[TablePlan], None] | None = None,
             on_outcome: Callable[[JobOutcome], None] | None = None) -> TabulateResult:
    """Build (or continue) the table ``opts.name``; every evaluation is stored as it finishes."""
    from octsearch.search.cluster import ray_session, stop_on_sigint
    from octsearch.validate.tasks import run_jobs

    space, store, configurations = prepare(opts)
    with store:
        table = plan(store, space, opts, configurations)
        if on_plan is not None:
            on_plan(table)
        counts = RunCounts(0, 0, 0, False)
        if table.jobs:
            with ray_session(opts.address), stop_on_sigint() as should_stop:
                counts = run_jobs(table.jobs, space, concurrency=table.concurrency,
                                  on_outcome=lambda o: record_outcome(store, opts.name, o, on_outcome),
                                  should_stop=should_stop)
        store.reconcile_running(opts.name)
        status = "interrupted" if counts.stopped else "finished"
        store.set_search_status(opts.name, status)
    return TabulateResult(table, counts, status)


def record_outcome(store: Store, name: str, outcome: JobOutcome, then: Callable[[JobOutcome], None] | None) -> None:
    """Store a finished run as an evaluation at its job's label (a failed one as the trial's
    failure), then hand it on to ``then``."""
    r, job = outcome.result, outcome.job
    if r is not None:
        store.record_evaluation(name, job.trial, seed=job.seed, accuracy=r.accuracy, n_val=r.n_val, budget=job.label,
                                train_seconds=r.train_seconds, node=outcome.node,
                                epoch_accuracies=list(r.epoch_accuracies), latency_ms=r.latency_ms)
    else:
        store.record_failure(name, job.trial, outcome.error or "the run failed (no error text)")
    if then is not None:
        then(outcome)
