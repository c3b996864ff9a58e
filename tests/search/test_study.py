"""The sampler's study in the store's database: created, marked, described, reloaded, built from the
stored results of a search made before it existed; on SQLite and PostgreSQL. The search loop runs
without Ray (as a replay does): suggest -> the driver records -> the searcher tells."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import warnings

import optuna
import pytest
from optuna.trial import TrialState
from search_helpers import write_space
from sqlalchemy import inspect

from octsearch.errors import ConfigError
from octsearch.search.driver import SearchDriver
from octsearch.search.repeats import RepeatPolicy
from octsearch.search.study import (
    hold_search,
    make_sampler,
    refuse_foreign_study,
    register_search,
    study_name,
)
from octsearch.search.tuner import searcher_for
from octsearch.search.worker import WorkerReport, request_of
from octsearch.spaces import load_space
from octsearch.store import open_store

# (0, 0) costs 0.0078 GFLOPs (conv + fc) in the tiny space: over this budget
BUDGET = "0.0075"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def url(request, tmp_path):
    return f"sqlite:///{tmp_path / 's.db'}" if request.param == "sqlite" else request.getfixturevalue("pg_url")


def _driver(space, store, name="s", total=6, repeats=0):
    record = register_search(store, space, name, "nsga2", 0)
    driver = SearchDriver(space, store, record, RepeatPolicy(seeds=repeats), total, lambda event: None)
    driver.resume()
    return driver


def _run(driver, searcher, n, start=0):
    """Draw, dispatch and finish ``n`` trials one at a time, accuracies made up from the alphas."""
    for i in range(start, start + n):
        trial_id = f"t{i}"
        config = searcher.suggest(trial_id)
        if not isinstance(config, dict):
            return
        request = request_of(config)
        driver.started(trial_id, request)
        cfg = request.configuration
        result = {"accuracy": 0.9 - 0.1 * sum(cfg.by_param.values()), "flops": float(cfg.cost.flops_paper),
                  "seed": 0 if request.seed is None else request.seed, "n_val": 80, "train_seconds": 1.0,
                  "final": 1, "epoch": 1, "pid": 1, "t_begin": 0.0, "t_end": 1.0, "epoch_accuracies": [0.5]}
        searcher.on_trial_complete(trial_id, result)
        driver.completed(trial_id, WorkerReport.from_tune(result), "proxy")


def _search(space_path, url, name="s", n=4, **kw):
    space = load_space(str(space_path))
    store = open_store(url)
    driver = _driver(space, store, name, **kw)
    searcher = searcher_for(driver, make_sampler("nsga2", 6, seed=1), None)
    _run(driver, searcher, n)
    return space, store, driver, searcher


def _study(url, name="s", role="sampler"):
    from octsearch.search.study import open_storage

    with open_store(url) as store:
        return optuna.load_study(study_name=study_name(name, role), storage=open_storage(store, writer=False))


def test_a_search_keeps_its_study_in_the_store_database_described(tmp_path, url):
    space, store, driver, searcher = _search(write_space(tmp_path), url)
    study = _study(url)
    assert [d.name for d in study.directions] == ["MAXIMIZE", "MINIMIZE"]
    assert study.metric_names == ["accuracy", "flops_paper (multiply-adds)"]
    trained = [t for t in study.trials if t.user_attrs.get("outcome") == "trained"]
    stored = {tuple(sorted(t.configuration.by_param.items())): t for t in store.trials("s")}
    assert len(trained) == 4 == len(stored)
    for t in trained:
        record = stored[tuple(sorted(t.params.items()))]
        assert t.state == TrialState.COMPLETE and t.values == [record.accuracy, record.flops_paper]
        assert (t.user_attrs["flops_paper"], t.user_attrs["flops_all"], t.user_attrs["param_count"]) == (
            record.flops_paper, record.flops_all, record.param_count)
        assert {k[len("alpha "):]: v for k, v in t.user_attrs.items() if k.startswith("alpha ")} == dict(record.configuration.by_slot)
        assert t.user_attrs["seed"] == 0 and t.constraints == {}  # no FLOPs budget: no constraint
    evaluations = _study(url, role="evaluations")
    assert sorted(t.user_attrs["configuration"] for t in evaluations.trials) == sorted(
        t.user_attrs["configuration"] for t in trained)
    store.close()


def test_a_resumed_search_reloads_its_study_and_adds_nothing_twice(tmp_path, url):
    space, store, driver, searcher = _search(write_space(tmp_path), url, n=2)
    searcher.prefetch()  # a draw left RUNNING, as a killed driver leaves it
    before = _study(url).trials
    assert [t.state for t in before].count(TrialState.RUNNING) == 1
    waiting = [t for t in before if t.state == TrialState.WAITING]  # warm-start points not drawn yet
    driver = _driver(space, store)
    searcher = searcher_for(driver, make_sampler("nsga2", 6, seed=2), None)
    after = _study(url).trials
    assert after[:len(before) - 1] == before[:-1]  # the history is the study's: nothing re-injected
    left = after[len(before) - 1]
    assert left.state == TrialState.FAIL and not [t for t in after if t.state == TrialState.RUNNING]
    # the warm-start point that draw held was never trained: it waits again, once
    assert [t.system_attrs["fixed_params"] for t in after[len(before):]] == [left.params]
    assert not waiting
    _run(driver, searcher, 2, start=10)
    assert len(store.trials("s")) == 4
    store.close()


def test_infeasible_trials_carry_optuna_constraints_and_no_deprecation_warning_is_raised(tmp_path, url):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _search(write_space(tmp_path, flops_budget=BUDGET), url, n=5)[1].close()
    deprecations = [w for w in caught if issubclass(w.category, (DeprecationWarning, FutureWarning))]
    assert not deprecations, [str(w.message) for w in deprecations]
    study = _study(url)
    told = [t for t in study.trials if t.state == TrialState.COMPLETE]
    infeasible = [t for t in told if t.user_attrs["outcome"].startswith("over the FLOPs budget")]
    assert infeasible and all(t.constraints["flops_over_budget"] > 0 for t in infeasible)
    assert all(t.constraints == {"flops_over_budget": 0.0} for t in told if t.user_attrs["outcome"] == "trained")


def test_a_search_from_before_the_study_gets_one_built_from_its_stored_results(tmp_path, url):
    space = load_space(str(write_space(tmp_path)))
    store = open_store(url)
    driver = _driver(space, store)
    for alpha in (0.0, 0.25):  # stored as the code before the study stored them: no study at all
        cfg = space.with_cost(space.configuration(alpha))
        number = store.start_trial("s", cfg)
        store.record_evaluation("s", number, seed=0, accuracy=0.7 + alpha, n_val=80)
        store.record_evaluation("s", number, seed=1, accuracy=0.6 + alpha, n_val=80)
    store.record_failure("s", store.start_trial("s", space.with_cost(space.configuration(0.5))), "", status="pruned")
    driver = _driver(space, store)
    searcher_for(driver, make_sampler("nsga2", 6, seed=1), None)
    study = _study(url)
    built = [t for t in study.trials if t.state != TrialState.WAITING]
    assert sorted((t.state, t.values and round(t.values[0], 6)) for t in built) == sorted(
        [(TrialState.COMPLETE, 0.65), (TrialState.COMPLETE, 0.9), (TrialState.PRUNED, None)])
    assert len(_study(url, role="evaluations").trials) == 4  # every seed, as an evaluation of its configuration
    store.close()


def test_a_study_octsearch_did_not_create_is_refused_before_anything_is_written(tmp_path, url):
    from octsearch.store.urls import make_engine, resolve_url

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        storage = optuna.storages.RDBStorage(resolve_url(url).render_as_string(hide_password=False))
    optuna.create_study(storage=storage, study_name=study_name("x"))
    engine = make_engine(resolve_url(url))
    tables = set(inspect(engine).get_table_names())
    with pytest.raises(ConfigError, match="holds an Optuna study 'octsearch:x' that octsearch did not create"):
        refuse_foreign_study(url, "x")
    from search_helpers import run_cli

    proc = run_cli("launch", str(write_space(tmp_path)), "--name", "x", "--db", url)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and "that octsearch did not create" in proc.stderr
    assert set(inspect(engine).get_table_names()) == tables  # no octsearch table was created
    engine.dispose()


def test_a_second_driver_of_one_search_is_refused(tmp_path, url):
    holder = textwrap.dedent(f"""
        import sys, time
        from octsearch.store import open_store
        from octsearch.search.study import hold_search
        store = open_store({url!r})
        with hold_search(store, "s"):
            print("held", flush=True)
            sys.stdin.readline()
    """)
    proc = subprocess.Popen([sys.executable, "-c", holder], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "held"
        with open_store(url) as store:
            with pytest.raises(ConfigError, match="'s' is being run by another octsearch launch"):
                with hold_search(store, "s"):
                    pass
            with hold_search(store, "other"):  # another search of the same database is free
                pass
    finally:
        proc.communicate("\n", timeout=30)
    with open_store(url) as store, hold_search(store, "s"):  # free once the holder ended
        pass


def test_repeat_seeds_are_evaluations_of_their_configuration_not_sampler_trials(tmp_path, url):
    space, store, driver, searcher = _search(write_space(tmp_path), url, n=7, total=7, repeats=1)
    repeats = [e for e in store.evaluations("s") if e.seed != 0]
    assert repeats, "the search ran no repeat seed"
    sampler = _study(url)
    trained = [t for t in sampler.trials if t.user_attrs.get("outcome") == "trained"]
    assert len(trained) == len(store.trials("s"))  # one sampler trial per configuration
    evaluations = _study(url, role="evaluations").trials
    assert len(evaluations) == len(store.evaluations("s"))
    keys = {t.number: t.configuration.key[:12] for t in store.trials("s")}
    for e in repeats:
        (repeat,) = [t for t in evaluations if t.user_attrs.get("repeat of octsearch trial") == e.trial
                     and t.user_attrs["seed"] == e.seed]
        assert repeat.user_attrs["configuration"] == keys[e.trial] and repeat.values[0] == e.accuracy
    store.close()
