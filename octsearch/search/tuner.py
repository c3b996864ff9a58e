"""Ray Tune around the driver: the searcher, the scheduler, the recorder and the trainable.

Lifecycle: start (or join) Ray -> build the searcher (warm start, the history) -> Tune runs
``remaining`` trials, ``concurrency`` at a time, each asking Ray for its CPUs and GPUs ->
trials still running when Tune stopped (Ctrl-C) are reconciled -> the search's status is set.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from octsearch.search.events import SearchStarted

if TYPE_CHECKING:
    from octsearch.configuration import Configuration
    from octsearch.search.driver import SearchDriver
    from octsearch.search.searcher import StudySearcher
    from octsearch.spaces.resources import TrialResources


@dataclass(frozen=True)
class TuneSettings:
    sampler_name: str
    concurrency: int
    address: str | None = None
    early_stop: bool = False
    seed_from: str | None = None
    results_dir: str | None = None
    resources: TrialResources | None = None  # None: the space's (``resources:``, else budget.threads CPUs)
    points: tuple[Configuration, ...] = ()  # evaluated first, after the uniform points (warm_start)


@dataclass(frozen=True)
class TuneRun:
    status: str  # finished | interrupted
    elapsed: float  # seconds from starting Ray to the end
    startup: float  # seconds to start (or join) Ray
    ray_log: str | None


def run_search(driver: SearchDriver, sampler: Any, settings: TuneSettings) -> TuneRun:
    """Run what is left of the driver's search through Tune; set the search's status."""
    from octsearch.core.threads import one_torch_thread
    from octsearch.search.cluster import check_address, ray_session, stop_on_sigint

    searcher = searcher_for(driver, sampler, settings.seed_from, settings.points)
    started = time.monotonic()
    store, name = driver.store, driver.name
    with ray_session(check_address(settings.address)) as session, stop_on_sigint() as should_stop, \
            one_torch_thread():
        ray_ready = driver.started_at = time.monotonic()
        driver.emit(SearchStarted(name, driver.remaining, settings.sampler_name, settings.concurrency,
                                  store.url, session.log_file))
        try:
            _fit(driver, searcher, settings, should_stop)
        finally:
            store.reconcile_running(name)  # trials still running when Tune stopped never reach a callback
            if not should_stop() and sys.exc_info()[0] is not None:
                store.set_search_status(name, "failed")
    status = "interrupted" if should_stop() else "finished"
    store.set_search_status(name, status)
    return TuneRun(status, time.monotonic() - started, ray_ready - started, session.log_file)


def searcher_for(driver: SearchDriver, sampler: Any, seed_from: str | None,
                 given: tuple[Configuration, ...] = ()) -> StudySearcher:
    """The searcher of the driver's search, its study kept in the store's database: a new search's
    study is created, a resumed one's reloaded (its warm-start points still waiting are not
    enqueued again, the history is not re-injected), a search from before the study existed gets
    one built from its stored results. Replays get theirs too (a replay is a search)."""
    import optuna

    from octsearch.search.searcher import StudySearcher
    from octsearch.search.study_history import distributions_of, open_studies

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    distributions = distributions_of(driver.space)
    kept, evaluations = open_studies(driver, distributions, driver.space.flops_budget is not None, sampler)
    points = [c.by_param for c in driver.warm_start(seed_from, given) if c.by_param not in kept.waiting]
    return StudySearcher(kept.study, driver, distributions, metrics=driver.objectives.metrics,
                         points_to_evaluate=points, evaluations=evaluations)


def _fit(driver: SearchDriver, searcher: StudySearcher, settings: TuneSettings, should_stop: Any) -> None:
    from ray import tune

    from octsearch.search.recorder import StoreRecorder
    from octsearch.search.scheduler import StopOnFlag, scheduler_for

    space = driver.space
    scheduler = scheduler_for(driver.flights, space.budget().epochs, settings.early_stop)
    recorder = StoreRecorder(driver, prefetch=searcher.prefetch)
    tuner = tune.Tuner(
        _trainable(space, report_epochs=scheduler is not None, resources=settings.resources),
        tune_config=tune.TuneConfig(
            # The searcher ends the search (FINISHED) once the budget is dispatched and nothing
            # runs: a trial lost with its worker gives its place back and is run again.
            search_alg=searcher, scheduler=scheduler, num_samples=-1,
            max_concurrent_trials=settings.concurrency, reuse_actors=True,
            trial_dirname_creator=lambda trial: f"trial_{trial.trial_id}",
        ),
        run_config=tune.RunConfig(
            name=f"{driver.name}-{int(time.time())}", storage_path=str(_results_dir(settings.results_dir)),
            verbose=0, callbacks=[recorder], stop=StopOnFlag(should_stop),
            failure_config=tune.FailureConfig(max_failures=0),
        ),
    )
    driver.progress()
    tuner.fit()


def _trainable(space: Any, report_epochs: bool, resources: TrialResources | None = None) -> Any:
    """The worker's function with what each trial asks Ray for: without a GPU in the request Ray
    hides the GPUs from the trial, so a GPU must be asked for to be used."""
    from ray import tune

    from octsearch.search.worker import proxy_trainable

    return tune.with_resources(
        tune.with_parameters(proxy_trainable, space_text=space.text, space_name=space.name,
                             space_path=space.path, report_epochs=report_epochs),
        (resources or space.resources()).as_ray())


def _results_dir(given: str | None) -> Path:
    if given:
        return Path(given).resolve()
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("octsearch")) / "tune"
