"""The calibration pilot: the design's configurations x seeds x rungs, trained on Ray, stored.

Lifecycle (the machinery of ``tabulate``): check every input (space, ladder, design, seeds, the
name against the store, the cluster address, each rung's data sizes) before Ray starts or anything
is written -> register the pilot (a search of kind ``table``, so the dashboard and ``searches`` list
it) and each configuration, counted -> per rung, in the order given, the
(configuration, seed) runs not stored yet at that rung's budget label, seed-major -> Ray tasks train
them on the rung's space, the driver storing each evaluation under the rung's label as it finishes
-> mark the pilot finished or interrupted. A rerun continues where it stopped.

The pilot's trials hold evaluations at the rungs' labels only, never at ``proxy``: the store keeps a
trial's status and mean for the proxy budget, so they stay listed as registered (running) trials.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from octsearch.calibrate.design import Design, pilot_configurations
from octsearch.calibrate.ladder import LadderRung, Rung, base_rung, parse_ladder, rung_space
from octsearch.configuration import Configuration
from octsearch.errors import ConfigError, UnknownNameError
from octsearch.spaces.space import SearchSpace
from octsearch.store import Store
from octsearch.validate.selection import Job
from octsearch.validate.tasks import JobOutcome, RunCounts

DEFAULT_SEEDS = 2  # the fewest that measure seed noise
PILOT_SAMPLER = "table"  # the pilot's search record names it a table: every configuration it lists


@dataclass(frozen=True)
class CalibrateOptions:
    space: str
    name: str | None = None  # default: calibrate-<space name>
    rungs: tuple[str, ...] = ()  # rung texts (none: the default ladder)
    seeds: int = DEFAULT_SEEDS
    configurations: int | None = None  # design rows (None: the design's default size)
    design_seed: int = 0
    concurrency: int | None = None
    address: str | None = None
    db: str | None = None


@dataclass(frozen=True)
class Pilot:
    """What the pilot trains: ``configurations`` (uniform first) x ``seeds`` x ``ladder``."""

    name: str
    space: SearchSpace
    base: Rung
    ladder: tuple[LadderRung, ...]
    configurations: tuple[Configuration, ...]
    design: Design
    seeds: tuple[int, ...]


@dataclass(frozen=True)
class PilotPlan:
    """The runs each rung still needs (label -> jobs) and how many the pilot already stores."""

    pilot: Pilot
    jobs: dict[str, tuple[Job, ...]]
    stored: int
    concurrency: int


def pilot_name(opts: CalibrateOptions, space: SearchSpace) -> str:
    return opts.name or f"calibrate-{space.name}"


def prepare(opts: CalibrateOptions) -> tuple[Pilot, Store]:
    """Every check that can fail on user input; nothing written, no Ray started."""
    from octsearch.search.cluster import check_address
    from octsearch.spaces import load_space
    from octsearch.store import open_store
    from octsearch.validate.selection import check_count

    check_count("--concurrency", opts.concurrency)
    if isinstance(opts.seeds, bool) or not isinstance(opts.seeds, int) or opts.seeds < 2:
        raise ConfigError(f"--seeds {opts.seeds!r} is not accepted; use an integer >= 2 (seed noise needs two)")
    space = load_space(opts.space)
    data = space.data.load()
    base = base_rung(space, data.num_train, data.num_val)
    rungs = parse_ladder(opts.rungs, base)
    ladder = tuple(LadderRung(r, _checked_space(space, r, base)) for r in rungs)
    configurations, design = pilot_configurations(space, opts.configurations, opts.design_seed)
    check_address(opts.address)
    seed0 = space.budget().seed
    pilot = Pilot(pilot_name(opts, space), space, base, ladder, tuple(configurations), design,
                  tuple(range(seed0, seed0 + opts.seeds)))
    store = open_store(opts.db)
    try:
        _check_name(store, pilot)
    except ConfigError:
        store.close()
        raise
    return pilot, store


def _checked_space(space: SearchSpace, rung: Rung, base: Rung) -> SearchSpace:
    """The rung's space; a rung that asks for more images than the data set holds is refused."""
    trained = rung_space(space, rung, base)
    if (rung.train, rung.val) != (base.train, base.val):
        data = trained.data.load()
        if data.num_train + data.num_val < rung.train + rung.val:
            raise ConfigError(f"rung {rung.label}: train={rung.train} + val={rung.val} images, but data set "
                              f"{data.name} holds {data.num_train + data.num_val:,}; accepted: train + val <= "
                              f"{data.num_train + data.num_val:,}")
    return trained


def _check_name(store: Store, pilot: Pilot) -> None:
    """A new name, or a pilot of the same space file to continue (never a table or a search)."""
    try:
        existing = store.get_search(pilot.name)
    except UnknownNameError:
        return
    if existing.kind != "table" or existing.space_hash != pilot.space.hash or "proxy" in store.budgets(pilot.name):
        what = "a table of another space file" if existing.kind == "table" else f"a {existing.kind}"
        if existing.kind == "table" and existing.space_hash == pilot.space.hash:
            what = "a table made by tabulate"
        raise ConfigError(f"{pilot.name!r} exists as {what}; accepted: a new --name, or the same space file "
                          "to continue its calibration")


def plan(store: Store, pilot: Pilot, concurrency: int | None = None) -> PilotPlan:
    """Register the pilot and its configurations (counted); the runs each rung still needs."""
    from octsearch.search.study import register_search

    space = pilot.space
    register_search(store, space, pilot.name, PILOT_SAMPLER, space.budget().seed, kind="table")
    # registered for the rungs' runs (budgets other than the proxy): scored once a rung is stored
    numbers = [store.start_trial(pilot.name, space.with_cost(c), budget=pilot.ladder[0].rung.label)
               for c in pilot.configurations]
    done = {(e.trial, e.seed, e.budget) for e in store.evaluations(pilot.name)}
    jobs: dict[str, tuple[Job, ...]] = {}
    stored = 0
    for step in pilot.ladder:
        label = step.rung.label
        runs = [(n, c, s) for s in pilot.seeds for n, c in zip(numbers, pilot.configurations, strict=True)]
        jobs[label] = tuple(Job(n, c, s, label, "proxy") for n, c, s in runs if (n, s, label) not in done)
        stored += len(runs) - len(jobs[label])
    return PilotPlan(pilot, jobs, stored, concurrency or space.sampler.concurrency)


@dataclass(frozen=True)
class PilotResult:
    plan: PilotPlan
    counts: RunCounts
    status: str  # finished | interrupted


def run_pilot(opts: CalibrateOptions, on_plan: Callable[[PilotPlan], None] | None = None,
              on_outcome: Callable[[JobOutcome], None] | None = None) -> PilotResult:
    """Train (or continue) the pilot; every evaluation is stored under its rung's label as it finishes."""
    from octsearch.search.cluster import ray_session, stop_on_sigint
    from octsearch.tables.build import record_outcome
    from octsearch.validate.tasks import run_jobs

    pilot, store = prepare(opts)
    with store:
        todo = plan(store, pilot, opts.concurrency)
        if on_plan is not None:
            on_plan(todo)
        counts = RunCounts(0, 0, 0, False)
        if any(todo.jobs.values()):
            with ray_session(opts.address), stop_on_sigint() as should_stop:
                for step in pilot.ladder:
                    jobs = todo.jobs[step.rung.label]
                    if counts.stopped or not jobs:
                        counts = _add(counts, RunCounts(0, 0, len(jobs) if counts.stopped else 0, counts.stopped))
                        continue
                    counts = _add(counts, run_jobs(jobs, step.space, concurrency=todo.concurrency,
                                                   on_outcome=lambda o: record_outcome(store, pilot.name, o, on_outcome),
                                                   should_stop=should_stop))
        status = "interrupted" if counts.stopped else "finished"
        store.set_search_status(pilot.name, status)
    return PilotResult(todo, counts, status)


def _add(a: RunCounts, b: RunCounts) -> RunCounts:
    return RunCounts(a.done + b.done, a.failed + b.failed, a.cancelled + b.cancelled, a.stopped or b.stopped)
