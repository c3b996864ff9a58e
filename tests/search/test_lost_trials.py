"""A trial lost with its worker (the node, container or process died under it): recorded as lost,
not counted against the budget, run again first; a configuration lost too often fails for good.
The search loop runs without Ray (as a replay does) on a real store and a real Optuna searcher; a
real lost node is in tests/cluster/test_multinode.py and tests/docker/test_compose_cluster.py."""

from __future__ import annotations

import types

import cloudpickle
import pytest
from ray.exceptions import ActorDiedError, RayTaskError
from ray.tune.search import Searcher
from search_helpers import write_space

from octsearch.search.driver import MAX_LOSSES, SearchDriver, counts_against_budget
from octsearch.search.recorder import lost_with_its_worker
from octsearch.search.repeats import RepeatPolicy
from octsearch.search.study import make_sampler, register_search
from octsearch.search.tuner import searcher_for
from octsearch.search.worker import WorkerReport, request_of
from octsearch.spaces import load_space
from octsearch.store import open_store

DIED = "ActorDiedError: The actor died unexpectedly before finishing this task."


def _open(tmp_path):
    space = load_space(str(write_space(tmp_path)))
    store = open_store(f"sqlite:///{tmp_path / 's.db'}")
    record = register_search(store, space, "s", "nsga2", 0)
    driver = SearchDriver(space, store, record, RepeatPolicy(seeds=0), 4, lambda event: None)
    driver.resume()
    return driver, searcher_for(driver, make_sampler("nsga2", 6, seed=1), None)


@pytest.fixture
def search(tmp_path):
    return _open(tmp_path)


def _dispatch(driver, searcher, trial_id):
    config = searcher.suggest(trial_id)
    assert isinstance(config, dict), config
    request = request_of(config)
    driver.started(trial_id, request)
    return request


def _finish(driver, searcher, trial_id, request):
    result = {"accuracy": 0.5, "flops": float(request.configuration.cost.flops_paper), "seed": 0, "n_val": 80,
              "train_seconds": 1.0, "final": 1, "epoch": 1, "pid": 1, "t_begin": 0.0, "t_end": 1.0, "epoch_accuracies": [0.5]}
    searcher.on_trial_complete(trial_id, result)
    driver.completed(trial_id, WorkerReport.from_tune(result), "proxy")


def _lose(driver, searcher, trial_id):
    searcher.on_trial_complete(trial_id, None, error=True)  # Tune's order: the searcher, then the callback
    driver.lost(trial_id, DIED)


def test_a_lost_trial_is_recorded_run_again_first_and_not_counted(search):
    driver, searcher = search
    first = _dispatch(driver, searcher, "t0")
    number = driver.flights.get("t0").number
    _lose(driver, searcher, "t0")
    trial = driver.store.trial("s", number)
    assert trial.status == "lost" and trial.error == f"lost with its worker: {DIED}"
    assert not counts_against_budget(trial) and driver.dispatches == 0
    again = _dispatch(driver, searcher, "t1")  # before any new draw
    assert again.configuration == first.configuration and again.rerun_of == number
    assert driver.flights.get("t1").number == number  # one row per configuration: the lost one runs again
    _finish(driver, searcher, "t1", again)
    trial = driver.store.trial("s", number)
    assert trial.status == "complete" and trial.error == f"lost with its worker: {DIED}; run again to completion"
    assert counts_against_budget(trial)
    # the sampler learnt the result of the run again (the lost draw itself was told FAIL)
    values = [t.values for t in searcher.study.trials if t.values is not None]
    assert values == [[0.5, float(first.configuration.cost.flops_paper)]]


def test_the_budget_counts_what_finished_and_waits_while_a_trial_may_yet_be_lost(search):
    driver, searcher = search
    requests = {f"t{i}": _dispatch(driver, searcher, f"t{i}") for i in range(4)}
    assert driver.budget_spent and searcher.suggest("t9") is None  # 4 running: ask again later
    drawn = len(searcher.study.trials)
    searcher.prefetch()  # as the recorder does after each start: nothing would take a further draw
    assert len(searcher.study.trials) == drawn
    for trial_id in ("t0", "t1", "t2"):
        _finish(driver, searcher, trial_id, requests[trial_id])
    _lose(driver, searcher, "t3")
    assert not driver.budget_spent  # the lost one gave its place back
    again = _dispatch(driver, searcher, "t4")
    assert again.configuration == requests["t3"].configuration
    _finish(driver, searcher, "t4", again)
    assert searcher.suggest("t5") == Searcher.FINISHED
    trials = driver.store.trials("s")
    assert [t.status for t in trials] == ["complete"] * 4 and sum(map(counts_against_budget, trials)) == 4


def test_a_configuration_lost_too_often_fails_for_good(search):
    driver, searcher = search
    first = _dispatch(driver, searcher, "t0")
    number = driver.flights.get("t0").number
    for i in range(MAX_LOSSES):
        _lose(driver, searcher, f"t{i}")
        again = _dispatch(driver, searcher, f"t{i + 1}")
        assert again.configuration == first.configuration
    _lose(driver, searcher, f"t{MAX_LOSSES}")
    trial = driver.store.trial("s", number)
    assert trial.status == "failed" and counts_against_budget(trial)
    assert trial.error == f"failed: lost with its worker {MAX_LOSSES + 1} times, not run again: {DIED}"
    assert request_of(searcher.suggest("t9")).configuration != first.configuration  # a new draw


def test_a_resumed_search_runs_again_what_its_stopped_driver_lost(tmp_path):
    driver, searcher = _open(tmp_path)
    first = _dispatch(driver, searcher, "t0")
    number = driver.flights.get("t0").number
    _lose(driver, searcher, "t0")  # then the driver stops before running it again
    driver, searcher = _open(tmp_path)  # the next launch of the same search
    assert driver.remaining == 4  # the loss is not counted
    again = _dispatch(driver, searcher, "t1")
    assert again.configuration == first.configuration and again.rerun_of == number
    _finish(driver, searcher, "t1", again)
    trial = driver.store.trial("s", number)
    assert trial.status == "complete" and trial.error == f"lost with its worker: {DIED}; run again to completion"
    assert driver.screen(first.configuration.by_param)[1] is not None  # never drawn to train twice


def _trial_with_error(tmp_path, error):
    path = tmp_path / "error.pkl"
    path.write_bytes(cloudpickle.dumps(error))
    return types.SimpleNamespace(pickled_error_file=str(path), get_pickled_error=lambda: None)


def test_only_a_dead_worker_counts_as_lost_not_an_error_of_training(tmp_path):
    assert lost_with_its_worker(_trial_with_error(tmp_path, ActorDiedError()))
    training = RayTaskError("proxy_trainable", "Traceback ...", ValueError("bad alpha"))
    assert not lost_with_its_worker(_trial_with_error(tmp_path, training))
    died_under_task = RayTaskError("proxy_trainable", "Traceback ...", ActorDiedError())
    assert lost_with_its_worker(_trial_with_error(tmp_path, died_under_task))
    assert not lost_with_its_worker(types.SimpleNamespace(pickled_error_file=None, get_pickled_error=lambda: None))
