"""``launch``: run (or continue) a search of a space on a local Ray or a Ray cluster.

Lifecycle: validate everything (space, sampler, name vs stored space, cluster address) before any
Ray process starts and before anything is written -> register the search -> the driver resumes it
(reconciles trials a killed driver left RUNNING, reads the history) -> a freshly seeded sampler
gets the history -> Tune runs the rest of the budget (:mod:`octsearch.search.tuner`), the driver
recording every trial -> mark the search finished or interrupted.

``evaluator="supernet"`` (screen and confirm) adds one step before Tune: a supernet trained once
scores the space into the companion search (:mod:`octsearch.supernet.screen`), and the uniform
points plus its Pareto layers, ``confirm`` configurations in all, are the search's trials, each
trained once stand-alone at the proxy budget.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from octsearch.errors import ConfigError, UnknownNameError
from octsearch.search.cluster import check_address, check_cluster
from octsearch.search.driver import SearchDriver
from octsearch.search.events import Event, NothingLeft, Resumed, ScreenStarted
from octsearch.search.repeats import RepeatPolicy
from octsearch.search.study import (
    check_sampler,
    hold_search,
    make_sampler,
    refuse_foreign_study,
    register_search,
    sampler_args,
)
from octsearch.search.tuner import TuneRun, TuneSettings
from octsearch.spaces.resources import TrialResources
from octsearch.spaces.space import SearchSpace
from octsearch.store import SearchRecord, Store

if TYPE_CHECKING:
    from octsearch.supernet.screen import Screen

__all__ = ["LaunchOptions", "LaunchResult", "launch"]


@dataclass(frozen=True)
class LaunchOptions:
    space: str
    name: str
    trials: int | None = None  # the search's total; a resumed search runs what is left
    concurrency: int | None = None
    sampler: str | None = None
    seed: int | None = None
    address: str | None = None
    db: str | None = None
    seed_from: str | None = None
    early_stop: bool = False
    results_dir: str | None = None
    repeats: int | None = None  # further seeds for front candidates (default: the space's)
    noise_margin: float | None = None  # in standard errors (default: the space's)
    replay: str | None = None  # answer every evaluation from this table, in simulated time (no Ray)
    sampler_args: Mapping[str, Any] | None = None  # instead of the space's (bench/search_quality.py)
    gpus_per_trial: float | None = None  # default: the space's resources.gpu (else 0: no GPU)
    cpus_per_trial: int | None = None  # default: the space's resources.cpu (else budget.threads)
    evaluator: str = "proxy"  # "supernet": screen the space with a supernet, confirm `confirm` stand-alone
    confirm: int | None = None  # configurations confirmed stand-alone (uniform points + the supernet's front)


@dataclass(frozen=True)
class LaunchResult:
    name: str
    status: str  # finished | interrupted
    trials_run: int
    counts: dict[str, int]
    elapsed_seconds: float
    train_seconds: float
    db_url: str
    ray_log: str | None
    worker_seconds: float = 0.0  # summed wall time inside trainables (training plus set-up)
    driver_seconds: dict[str, float] | None = None  # itemised driver time (sampler, screen, store)
    startup_seconds: float = 0.0  # from launch to Ray ready
    eval_seconds: float = 0.0  # summed validation time inside trials
    timeline: list[tuple[int, float, float, float, float]] | None = None  # see SearchDriver.timeline
    replay: str | None = None  # the table it was answered from; elapsed_seconds are then simulated
    screen: Screen | None = None  # --evaluator supernet: the supernet's run and the configurations chosen


def _positive(name: str, value: int | None) -> int | None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise ConfigError(f"{name}={value!r}; accepted: an integer >= 1")
    return value


def _prepare(opts: LaunchOptions) -> tuple[SearchSpace, Store, str, int, int, int, RepeatPolicy, TrialResources]:
    """Every check that can fail on user input, with nothing written and no Ray started."""
    from octsearch.spaces import load_space
    from octsearch.store import open_store

    space = load_space(opts.space)
    sampler = check_sampler(opts.sampler or space.sampler.name)
    trials = _positive("--trials", opts.trials) or space.sampler.trials
    if opts.evaluator != "proxy" or opts.confirm is not None:
        trials = _check_confirm(opts, space)
    concurrency = _positive("--concurrency", opts.concurrency) or space.sampler.concurrency
    seed = opts.seed if opts.seed is not None else space.budget().seed
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ConfigError(f"--seed {seed!r}; accepted: an integer >= 0")
    if opts.replay is not None and opts.address is not None:
        raise ConfigError(f"--address {opts.address} with --replay: a replay runs no Ray; accepted: no --address")
    policy = _repeat_policy(opts, space)  # checked before anything is written
    address = check_address(opts.address)
    resources = space.resources(opts.gpus_per_trial, opts.cpus_per_trial)
    if opts.replay is None:
        check_cluster(resources, address)  # else Tune would wait forever for a node that fits
    if space.objectives.latency and space.objectives.latency_path == "fast+onnxruntime":
        from octsearch.fast.onnxrt import require

        # else every trial would fail on its worker
        require(f"{space.path}: objectives.latency_path fast+onnxruntime", instead="latency_path fast")
    refuse_foreign_study(opts.db, opts.name)  # an Optuna study of this name that octsearch did not create
    store = open_store(opts.db)
    try:
        existing = store.get_search(opts.name)
    except UnknownNameError:
        existing = None
    if existing is not None and existing.space_hash != space.hash:
        raise ConfigError(
            f"search {opts.name!r} exists with another space file (stored {existing.space_hash[:12]}, "
            f"given {space.hash[:12]} from {space.path}); use another --name or the same space file")
    if opts.seed_from is not None:
        store.get_search(opts.seed_from)  # unknown name: lists the names
    if opts.evaluator == "supernet":
        from octsearch.supernet.screen import check_companion

        check_companion(store, space, opts.name)
    if opts.replay is not None:
        _check_table(store, opts, space, existing)
    elif existing is not None and existing.kind != "search":
        again = f", or --replay {existing.source}" if existing.kind == "replay" else ""
        raise ConfigError(f"{opts.name!r} is a {existing.kind}, not a search; accepted: another --name{again}")
    return space, store, sampler, trials, concurrency, seed, policy, resources


def _check_confirm(opts: LaunchOptions, space: SearchSpace) -> int:
    """Screen and confirm's options (one-line errors); returns the trials: ``confirm``."""
    from octsearch.supernet.confirm import check_confirm, check_evaluator
    from octsearch.supernet.pipeline import scorable

    conflicting = {"--trials": opts.trials, "--repeats": opts.repeats, "--early-stop": opts.early_stop,
                   "--seed-from": opts.seed_from}
    check_evaluator(opts.evaluator, opts.confirm, opts.replay, conflicting)
    return check_confirm(space, opts.confirm, scorable(space))


def _check_table(store: Store, opts: LaunchOptions, space: SearchSpace, existing: SearchRecord | None) -> None:
    """A replay needs a table of the same space file; it runs no Ray."""
    table = store.get_search(opts.replay)  # unknown name: lists the names
    if table.kind != "table":
        raise ConfigError(f"--replay {opts.replay!r} is a {table.kind}, not a table; accepted: a table made "
                          "by `octsearch tabulate`")
    if table.space_hash != space.hash:
        raise ConfigError(f"--replay {opts.replay!r} tabulates another space file (stored {table.space_hash[:12]}, "
                          f"given {space.hash[:12]} from {space.path}); accepted: the space file it was built from")
    if existing is not None and (existing.kind, existing.source) != ("replay", opts.replay):
        raise ConfigError(f"{opts.name!r} exists and is not a replay of {opts.replay!r}; accepted: another --name")


def launch(opts: LaunchOptions, emit: Callable[[Event], None] | None = None) -> LaunchResult:
    """Run the search described by ``opts``; what happens goes to ``emit`` as events."""
    emit = emit or (lambda event: None)
    space, store, sampler_name, trials, concurrency, seed, policy, resources = _prepare(opts)
    with hold_search(store, opts.name):  # one driver per search: a second launch of it is refused
        kind = ("replay", opts.replay) if opts.replay else ("search", None)
        record = register_search(store, space, opts.name, sampler_name, seed, *kind, args=opts.sampler_args)
        screened = _screen(opts, space, store, trials, emit)
        if screened is not None:
            # The budget is what was chosen (fewer than --confirm only where the FLOPs budget leaves
            # fewer candidates): exactly those run, the searcher dispatching its warm start first.
            trials = len(screened.picks)
        driver = SearchDriver(space, store, record, policy, trials, emit)
        reconciled = driver.resume()
        if reconciled:
            emit(Resumed(len(reconciled)))
        if driver.remaining <= 0:
            store.set_search_status(opts.name, "finished")
            emit(NothingLeft(opts.name, driver.finished_before, trials))
            return LaunchResult(opts.name, "finished", 0, {}, 0.0, 0.0, store.url, None, screen=screened)
        sampler = make_sampler(sampler_name, trials, seed + driver.finished_before, sampler_args(space, sampler_name, opts.sampler_args),
                               constrained=space.flops_budget is not None)
        settings = TuneSettings(sampler_name, concurrency, opts.address, opts.early_stop, opts.seed_from,
                                opts.results_dir, resources, points=() if screened is None else screened.points)
        run = _run(driver, sampler, settings, opts.replay)
        return LaunchResult(opts.name, run.status, sum(driver.counts[k] for k in _RUN_OUTCOMES), driver.run_counts,
                            run.elapsed, driver.seconds["train_seconds"], store.url, run.ray_log,
                            driver.seconds["worker_seconds"], dict(driver.timings.seconds), run.startup,
                            driver.seconds["eval_seconds"], list(driver.timeline), opts.replay, screened)


def _screen(opts: LaunchOptions, space: SearchSpace, store: Store, confirm: int,
            emit: Callable[[Event], None]) -> Screen | None:
    """--evaluator supernet: the supernet scores the space (what is not stored yet) and chooses
    the trials to confirm; None for the proxy evaluator."""
    if opts.evaluator != "supernet":
        return None
    from octsearch.supernet.confirm import companion_name
    from octsearch.supernet.screen import screen
    from octsearch.supernet.settings import default_settings

    emit(ScreenStarted(companion_name(opts.name), default_settings(space.budget("proxy").epochs).epochs, confirm))

    return screen(space, store, opts.name, confirm, address=opts.address, results_dir=opts.results_dir,
                  gpus=opts.gpus_per_trial)


_RUN_OUTCOMES = ("complete", "repeat", "pruned", "interrupted", "failed")


def _run(driver: SearchDriver, sampler: Any, settings: TuneSettings, replay: str | None) -> TuneRun:
    if replay is not None:
        from octsearch.search.replay import run_replay
        from octsearch.tables.lookup import Table

        return run_replay(driver, sampler, settings, Table(driver.store, replay))
    from octsearch.search.tuner import run_search  # imports Ray

    return run_search(driver, sampler, settings)


def _repeat_policy(opts: LaunchOptions, space: SearchSpace) -> RepeatPolicy:
    if opts.evaluator == "supernet":  # a confirmation trains each chosen configuration once
        return RepeatPolicy()
    spec = getattr(space.spec, "repeats", None)
    seeds = opts.repeats if opts.repeats is not None else (spec.seeds if spec is not None else 0)
    margin = opts.noise_margin if opts.noise_margin is not None else (spec.margin if spec is not None else 1.0)
    return RepeatPolicy(seeds=seeds, margin=margin)
