"""The store's contract, run against SQLite and PostgreSQL alike (fixture ``store_url``)."""

from __future__ import annotations

import json
import math
import random
import threading

import pytest
from configs import configuration
from sqlalchemy import text

from octsearch.errors import ConfigError, StoreError, UnknownNameError
from octsearch.pareto import hypervolume, non_dominated
from octsearch.store import TrialRecord, open_store
from octsearch.store.urls import make_engine


@pytest.fixture
def store(store_url):
    s = open_store(store_url)
    yield s
    s.close()


def brute_front_numbers(trials: list[TrialRecord], objectives=("accuracy", "flops_paper")) -> set[int]:
    from octsearch.store import OBJECTIVES

    done = [t for t in trials if t.status == "complete"]
    dirs = [OBJECTIVES[o][1] for o in objectives]
    keep = non_dominated([[t.objective(o) for o in objectives] for t in done], dirs)
    return {done[i].number for i in keep}


# -- searches ---------------------------------------------------------------------------------


def test_searches_are_created_listed_and_counted(store, spec_factory, add_trial):
    store.create_search(spec_factory("a"))
    store.create_search(spec_factory("b", objectives=("accuracy", "flops_paper", "param_count")))
    add_trial(store, "a", {"x": 0.0, "y": 0.25}, accuracy=0.9)
    n = add_trial(store, "a", {"x": 0.5, "y": 0.25})
    store.record_failure("a", n, "CUDA out of memory", status="failed")
    add_trial(store, "a", {"x": 0.5, "y": 0.5})
    listed = {r.name: r for r in store.list_searches()}
    assert list(listed) == ["a", "b"]
    assert listed["a"].trial_counts == {"complete": 1, "failed": 1, "running": 1}
    assert listed["a"].n_trials == 3
    assert listed["b"].objectives == ("accuracy", "flops_paper", "param_count")
    got = store.get_search("a")
    assert got.model_args == {"num_classes": 10, "in_chans": 1, "input_size": 32}
    assert got.status == "running" and got.finished_at is None
    assert got.created_at.tzinfo is not None
    store.set_search_status("a", "finished")
    assert store.get_search("a").finished_at is not None


def test_unknown_search_lists_the_names(store, spec_factory):
    store.create_search(spec_factory("alpha-run"))
    store.create_search(spec_factory("beta-run"))
    with pytest.raises(UnknownNameError, match=r"unknown search 'gamma'; choose one of: alpha-run, beta-run"):
        store.trials("gamma")
    with pytest.raises(UnknownNameError):
        store.front("gamma")


def test_existing_name_is_resumed_only_with_the_same_space(store, spec_factory):
    first = store.create_search(spec_factory("r"))
    with pytest.raises(ConfigError, match="already exists"):
        store.create_search(spec_factory("r"))
    assert store.create_search(spec_factory("r"), exist_ok=True).id == first.id
    with pytest.raises(ConfigError, match="different space file"):
        store.create_search(spec_factory("r", space_text="other"), exist_ok=True)
    with pytest.raises(ConfigError, match="exists with model"):
        store.create_search(spec_factory("r", model_args={"num_classes": 100}), exist_ok=True)


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"objectives": ("flops_paper", "param_count")}, "must include 'accuracy'"),
        ({"objectives": ("accuracy", "speed")}, "must include 'accuracy'"),
        ({"reference_accuracy": 1.5}, "reference accuracy 1.5"),
        ({"reference_flops": 0}, "reference FLOPs 0"),
        ({"name": ""}, "search name ''"),
    ],
)
def test_bad_search_specs_are_refused(store, spec_factory, overrides, message):
    with pytest.raises(ConfigError, match=message):
        store.create_search(spec_factory(**overrides))
    assert store.list_searches() == []


def test_names_reach_sql_only_as_parameters(store, spec_factory, add_trial):
    name = "x'); DROP TABLE octsearch_trials; --"
    store.create_search(spec_factory(name))
    add_trial(store, name, {"a'; --": 0.25}, accuracy=0.5)
    assert store.get_search(name).name == name
    assert [t.configuration.by_slot for t in store.front(name)] == [{"a'; --": 0.25}]


# -- trials -----------------------------------------------------------------------------------


def test_trial_lifecycle_and_reuse_of_a_configuration(store, spec_factory, add_trial):
    store.create_search(spec_factory())
    n0 = add_trial(store, "s", {"a": 0.0, "b": 0.5})
    n1 = add_trial(store, "s", {"a": 0.25, "b": 0.5})
    assert (n0, n1) == (0, 1)
    t = store.trial("s", n0)
    assert t.status == "running" and t.configuration.by_slot == {"a": 0.0, "b": 0.5} and t.configuration.by_param == {"a": 0.0, "b": 0.5}
    assert t.flops_paper == 35_000_000 and t.param_count == 270_000
    # the same configuration (same alphas, in another order) keeps its number
    store.record_failure("s", n0, "Traceback ...\nRuntimeError: boom")
    assert store.trial("s", n0).status == "failed"
    assert add_trial(store, "s", {"b": 0.5, "a": 0}) == n0
    again = store.trial("s", n0)
    assert again.status == "running" and again.error is None
    store.record_evaluation("s", n0, seed=1, accuracy=0.9, n_val=400, train_seconds=3.5, node="n1")
    # a complete configuration sampled again is not reset
    assert add_trial(store, "s", {"a": 0.0, "b": 0.5}) == n0
    done = store.trial("s", n0)
    assert done.status == "complete" and done.accuracy == pytest.approx(0.9)
    assert done.accuracy_stderr == pytest.approx(math.sqrt(0.9 * 0.1 / 400))
    assert done.train_seconds == pytest.approx(3.5) and done.node == "n1"
    # a failed repeat seed keeps the trial complete
    store.record_failure("s", n0, "seed 2 crashed")
    assert store.trial("s", n0).status == "complete"
    assert [t.number for t in store.trials("s", status="running")] == [n1]


def test_repeated_evaluations_are_all_kept_and_averaged(store, spec_factory, add_trial):
    store.create_search(spec_factory())
    n = add_trial(store, "s", {"a": 0.25, "b": 0.25})
    accs = [0.95, 0.96, 0.94]
    for seed, acc in enumerate(accs):
        store.record_evaluation("s", n, seed=seed, accuracy=acc, n_val=1000, epoch_accuracies=[0.5, acc])
    t = store.trial("s", n)
    mean = sum(accs) / 3
    s2 = sum((a - mean) ** 2 for a in accs) / 2
    assert t.n_evals == 3 and t.accuracy == pytest.approx(mean)
    assert t.accuracy_stderr == pytest.approx(math.sqrt(mean * (1 - mean) / 1000 + s2 / 3))
    evals = store.evaluations("s", n)
    assert [(e.seed, e.accuracy, e.budget) for e in evals] == [(0, 0.95, "proxy"), (1, 0.96, "proxy"), (2, 0.94, "proxy")]
    assert evals[0].epoch_accuracies == (0.5, 0.95)
    assert evals[0].stderr == pytest.approx(math.sqrt(0.95 * 0.05 / 1000))
    with pytest.raises(ConfigError, match="already has an evaluation with seed 1"):
        store.record_evaluation("s", n, seed=1, accuracy=0.5, n_val=1000)
    assert store.trial("s", n).n_evals == 3  # nothing changed


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"accuracy": 96.0}, "accuracy 96.0 must be a fraction"),
        ({"n_val": 0}, "validation size 0"),
        ({"seed": "1"}, "seed '1'"),
        ({"budget": ""}, "budget ''"),
    ],
)
def test_bad_evaluations_are_refused(store, spec_factory, add_trial, kwargs, message):
    store.create_search(spec_factory())
    n = add_trial(store, "s", {"a": 0.25, "b": 0.25})
    args = {"seed": 0, "accuracy": 0.9, "n_val": 100, **kwargs}
    with pytest.raises(ConfigError, match=message):
        store.record_evaluation("s", n, **args)
    assert store.evaluations("s") == []


def test_bad_trials_are_refused(store, spec_factory, add_trial):
    store.create_search(spec_factory())
    with pytest.raises(ConfigError, match=r"alphas\['a'\]=1.0 is outside \[0, 1\)"):
        add_trial(store, "s", {"a": 1.0})
    with pytest.raises(ConfigError, match=r"alphas\['b'\]=nan is outside"):
        add_trial(store, "s", {"a": 0.5, "b": math.nan}, flops=10)
    with pytest.raises(ConfigError, match=r"alphas\['a'\]='0.5' is not a number"):
        add_trial(store, "s", {"a": "0.5"}, flops=10)
    with pytest.raises(ConfigError, match="flops_paper -3"):
        add_trial(store, "s", {"a": 0.5}, flops=-3)
    with pytest.raises(ConfigError, match="has no trial 7"):
        store.record_evaluation("s", 7, seed=0, accuracy=0.5, n_val=10)
    with pytest.raises(ConfigError, match="failure status 'crashed'"):
        store.record_failure("s", 0, "x", status="crashed")
    assert store.trials("s") == []


def test_reconcile_running_marks_leftovers_interrupted(store, spec_factory, add_trial):
    store.create_search(spec_factory())
    add_trial(store, "s", {"a": 0.0, "b": 0.0}, accuracy=0.9)
    add_trial(store, "s", {"a": 0.5, "b": 0.0})
    add_trial(store, "s", {"a": 0.5, "b": 0.5})
    assert store.reconcile_running("s") == [1, 2]
    assert {t.status for t in store.trials("s")} == {"complete", "interrupted"}
    assert store.trial("s", 1).error == "the search stopped before this trial finished"
    assert store.reconcile_running("s") == []


def test_infeasible_and_pruned_trials_never_enter_the_front(store, spec_factory, add_trial):
    store.create_search(spec_factory(flops_budget=25_000_000))
    a = add_trial(store, "s", {"a": 0.0, "b": 0.0})
    store.record_failure("s", a, "40.0M multiply-adds over the budget of 25.0M", status="infeasible")
    b = add_trial(store, "s", {"a": 0.75, "b": 0.75})
    store.record_failure("s", b, "stopped at rung 1", status="pruned")
    c = add_trial(store, "s", {"a": 0.5, "b": 0.5}, accuracy=0.5)
    assert [t.number for t in store.front("s")] == [c]
    assert store.get_search("s").flops_budget == 25_000_000
    # an infeasible configuration sampled again stays infeasible
    assert add_trial(store, "s", {"a": 0.0, "b": 0.0}) == a
    assert store.trial("s", a).status == "infeasible"


# -- the front --------------------------------------------------------------------------------


@pytest.mark.parametrize("objectives", [("accuracy", "flops_paper"), ("accuracy", "flops_paper", "param_count")])
def test_maintained_front_equals_brute_force_after_every_kind_of_write(store, spec_factory, add_trial, objectives):
    """New trials, repeat seeds moving members up and down, failures: the flags stay exact."""
    store.create_search(spec_factory(objectives=objectives))
    rng = random.Random(5)
    grid = [0.0, 0.25, 0.5, 0.75]
    seeds: dict[int, int] = {}
    moved = 0
    for _ in range(90):
        members = store.front("s")
        if members and rng.random() < 0.3:  # a repeat seed moves a member up or down
            number = rng.choice(members).number
            moved += 1
        else:
            alphas = {"a": rng.choice(grid), "b": rng.choice(grid), "c": rng.choice(grid)}
            number = add_trial(store, "s", alphas, params=rng.choice([100, 200, 300]))
            if rng.random() < 0.15:
                store.record_failure("s", number, "boom")
                continue
        seeds[number] = seeds.get(number, -1) + 1
        acc = round(rng.uniform(0.6, 0.95), 2)  # rounded: ties happen
        store.record_evaluation("s", number, seed=seeds[number], accuracy=acc, n_val=500)
        trials = store.trials("s")
        assert {t.number for t in store.front("s")} == brute_front_numbers(trials, objectives)
    assert moved > 10
    trials = store.trials("s")
    expected = brute_front_numbers(trials, objectives)
    assert any(n > 0 for n in seeds.values())  # repeats really happened
    assert {t.number for t in store.front("s")} == expected
    assert {t.number for t in trials if t.on_front} == expected
    assert store.rebuild_front("s") == len(expected)
    assert {t.number for t in store.front("s")} == expected
    flops = [t.flops_paper for t in store.front("s")]
    assert flops == sorted(flops)


def test_a_member_that_falls_frees_the_points_it_dominated(store, spec_factory, add_trial):
    store.create_search(spec_factory())
    top = add_trial(store, "s", {"a": 0.5, "b": 0.5}, accuracy=0.95, flops=10)
    hidden = add_trial(store, "s", {"a": 0.25, "b": 0.5}, accuracy=0.90, flops=20)
    same_acc = add_trial(store, "s", {"a": 0.25, "b": 0.25}, accuracy=0.95, flops=30)  # ties on one axis
    same_flops = add_trial(store, "s", {"a": 0.75, "b": 0.5}, accuracy=0.70, flops=10)
    assert [t.number for t in store.front("s")] == [top]
    store.record_evaluation("s", top, seed=1, accuracy=0.55, n_val=1000)  # mean 0.75 now
    assert [t.number for t in store.front("s")] == [top, hidden, same_acc]
    store.record_evaluation("s", top, seed=2, accuracy=0.0, n_val=1000)  # mean 0.5 now
    assert [t.number for t in store.front("s")] == [same_flops, hidden, same_acc]


def test_hypervolume_uses_the_stored_reference_point(store, spec_factory, add_trial):
    store.create_search(spec_factory(reference_accuracy=0.1, reference_flops=100))
    add_trial(store, "s", {"a": 0.5}, accuracy=0.9, flops=50)
    add_trial(store, "s", {"a": 0.25}, accuracy=0.95, flops=80)
    add_trial(store, "s", {"a": 0.0}, accuracy=0.99, flops=100)  # the alpha-0 point adds nothing
    add_trial(store, "s", {"a": 0.75}, accuracy=0.05, flops=5)  # below chance adds nothing
    expected = hypervolume([(0.9, 0.5), (0.95, 0.8)], (0.1, 1.0), ["max", "min"])
    assert store.hypervolume("s") == pytest.approx(expected)
    assert store.hypervolume("s") == pytest.approx(0.8 * 0.5 + 0.05 * 0.2)


def test_results_at_other_budgets_are_kept_beside_the_proxy(store, spec_factory, add_trial):
    store.create_search(spec_factory())
    a = add_trial(store, "s", {"a": 0.5}, accuracy=0.90, flops=50)
    b = add_trial(store, "s", {"a": 0.25}, accuracy=0.93, flops=70)
    for seed, (acc_a, acc_b) in enumerate([(0.97, 0.95), (0.96, 0.94)]):
        store.record_evaluation("s", a, seed=seed, accuracy=acc_a, n_val=1000, budget="full")
        store.record_evaluation("s", b, seed=seed, accuracy=acc_b, n_val=1000, budget="full")
    assert store.trial("s", a).accuracy == pytest.approx(0.90)  # proxy mean untouched
    assert store.trial("s", a).n_evals == 1
    assert [t.number for t in store.front("s")] == [a, b]
    full = store.front("s", "full")
    assert [t.number for t in full] == [a]  # b is dominated once re-validated
    assert full[0].accuracy == pytest.approx(0.965) and full[0].budget == "full" and full[0].n_evals == 2
    assert store.budgets("s") == {"proxy": 2, "full": 4}
    with pytest.raises(UnknownNameError, match="unknown budget of search 's' 'epochs=3'; choose one of: full, proxy"):
        store.front("s", "epochs=3")


def test_a_configuration_scored_only_at_another_budget_is_scored_not_running(store, spec_factory, add_trial):
    """A supernet score (or a calibration rung) registers its configuration without owing a proxy
    run: it is ``scored``, a crashed launch's reconcile leaves it, and a proxy run starts it."""
    store.create_search(spec_factory())
    scored = add_trial(store, "s", {"a": 0.5, "b": 0.0}, budget="supernet")
    assert store.trial("s", scored).status == "running"  # its score is being computed
    store.record_evaluation("s", scored, seed=0, accuracy=0.8, n_val=100, budget="supernet")
    assert store.trial("s", scored).status == "scored"
    assert store.reconcile_running("s") == [] and store.trial("s", scored).status == "scored"
    assert store.list_searches()[0].trial_counts == {"scored": 1}
    # scored again (another seed) or registered again at another budget: the status stays
    assert add_trial(store, "s", {"a": 0.5, "b": 0.0}, budget="epochs=6") == scored
    store.record_evaluation("s", scored, seed=1, accuracy=0.7, n_val=100, budget="supernet")
    assert store.trial("s", scored).status == "scored"
    # a proxy run of it starts and completes it like a new configuration
    assert add_trial(store, "s", {"a": 0.5, "b": 0.0}) == scored
    assert store.trial("s", scored).status == "running"
    store.record_evaluation("s", scored, seed=0, accuracy=0.9, n_val=100)
    assert store.trial("s", scored).status == "complete" and store.trial("s", scored).accuracy == pytest.approx(0.9)
    # a proxy trial scored later at another budget keeps its own status
    failed = add_trial(store, "s", {"a": 0.0, "b": 0.5})
    store.record_failure("s", failed, "boom", status="failed")
    add_trial(store, "s", {"a": 0.0, "b": 0.5}, budget="supernet")
    store.record_evaluation("s", failed, seed=0, accuracy=0.8, n_val=100, budget="supernet")
    assert store.trial("s", failed).status == "failed"


# -- concurrency ------------------------------------------------------------------------------


def test_two_searches_write_at_once_without_losing_a_row(store_url, spec_factory):
    """Two writers (threads, each with its own engine) and a reader, on one database."""
    setup = open_store(store_url)
    setup.create_search(spec_factory("left"))
    setup.create_search(spec_factory("right"))
    errors: list[BaseException] = []
    n_trials = 30

    def writer(name: str, offset: int) -> None:
        try:
            with open_store(store_url) as s:
                for i in range(n_trials):
                    alphas = {"a": (i % 4) / 4, "b": ((i // 4) % 4) / 4, "i": 0.0, "k": i / 100}
                    number = s.start_trial(name, configuration(alphas, flops_paper=1000 + i, flops_all=2000,
                                                               param_count=10))
                    s.record_evaluation(name, number, seed=offset + i, accuracy=0.5 + i / 100, n_val=100)
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    def reader() -> None:
        try:
            with open_store(store_url) as s:
                for _ in range(30):
                    s.front("left")
                    s.list_searches()
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=writer, args=("left", 0)), threading.Thread(target=writer, args=("right", 1000)),
               threading.Thread(target=reader)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    for name in ("left", "right"):
        trials = setup.trials(name)
        assert [t.number for t in trials] == list(range(n_trials))
        assert all(t.status == "complete" for t in trials)
        assert len(setup.evaluations(name)) == n_trials
        assert {t.number for t in setup.front(name)} == brute_front_numbers(trials)
    setup.close()


def test_two_writers_on_one_search_share_the_numbers(store_url, spec_factory):
    setup = open_store(store_url)
    setup.create_search(spec_factory("shared"))
    errors: list[BaseException] = []

    def writer(offset: int) -> None:
        try:
            with open_store(store_url) as s:
                for i in range(20):
                    s.start_trial("shared", configuration({"a": 0.0, "w": offset / 100, "i": i / 100},
                                                          flops_paper=10, flops_all=10, param_count=1))
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=writer, args=(k,)) for k in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert [t.number for t in setup.trials("shared")] == list(range(40))
    setup.close()


# -- corrupted rows ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "column, value, message",
    [
        ("configuration", "[0.25, 0.5]", "field 'configuration' is [0.25, 0.5], expected a configuration"),
        ("configuration", '{"params": {"a": 0.5}, "alphas": {"a": 2.5}}',
         "field 'configuration' is {'params': {'a': 0.5}, 'alphas': {'a': 2.5}}, expected a configuration"),
        ("configuration", '{"params": {}, "alphas": {"a": 0.5}, "cost": {"flops_paper": -5, "flops_all": 1, "param_count": 1}}',
         "field 'configuration' is {'params': {}, 'alphas': {'a': 0.5}, 'cost': {'flops_pape..., expected a configuration"),
    ],
)
def test_a_corrupted_row_is_named_and_left_alone(store, spec_factory, add_trial, column, value, message):
    store.create_search(spec_factory("c"))
    add_trial(store, "c", {"a": 0.0}, accuracy=0.8)
    bad = add_trial(store, "c", {"a": 0.5}, accuracy=0.9)
    engine = make_engine(store.database_url)
    cast = "CAST(:v AS JSON)" if engine.dialect.name == "postgresql" else ":v"
    with engine.begin() as conn:
        conn.execute(text(f"UPDATE octsearch_trials SET {column} = {cast} WHERE number = :n"), {"v": value, "n": bad})
    for read in (lambda: store.trials("c"), lambda: store.front("c"), lambda: store.trial("c", bad)):
        with pytest.raises(StoreError) as info:
            read()
        assert str(info.value).startswith(f"corrupted row in search 'c', trial {bad}: ")
        assert message in str(info.value) and "\n" not in str(info.value)
    with engine.connect() as conn:
        stored = conn.execute(text(f"SELECT {column} FROM octsearch_trials WHERE number = :n"), {"n": bad}).scalar()
    engine.dispose()
    stored, value = (json.loads(stored) if isinstance(stored, str) else stored), json.loads(value)
    assert stored == value  # nothing was changed


def test_unparsable_json_is_reported_on_sqlite(tmp_path, spec_factory, add_trial):
    store = open_store(f"sqlite:///{tmp_path / 'x.db'}")
    store.create_search(spec_factory("c"))
    add_trial(store, "c", {"a": 0.5}, accuracy=0.9)
    engine = make_engine(store.database_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE octsearch_trials SET configuration = :v"), {"v": "{not json"})
    engine.dispose()
    with pytest.raises(StoreError, match=r"corrupted row in search 'c', trial 0: field 'configuration' is '\{not json'"):
        store.trials("c")


def test_the_database_refuses_an_accuracy_outside_0_1(store, spec_factory, add_trial):
    from sqlalchemy.exc import IntegrityError

    store.create_search(spec_factory())
    add_trial(store, "s", {"a": 0.5}, accuracy=0.9)
    engine = make_engine(store.database_url)
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(text("UPDATE octsearch_trials SET accuracy = :v"), {"v": 96.0})
    engine.dispose()
    assert store.trial("s", 0).accuracy == pytest.approx(0.9)


# -- pandas -----------------------------------------------------------------------------------


def test_frames(store, spec_factory, add_trial):
    store.create_search(spec_factory())
    add_trial(store, "s", {"a": 0.0, "b": 0.5}, accuracy=0.9)
    add_trial(store, "s", {"a": 0.5, "b": 0.5}, accuracy=0.8)
    add_trial(store, "s", {"a": 0.25, "b": 0.0})
    frame = store.trials_frame("s")
    assert list(frame["number"]) == [0, 1, 2]
    assert list(frame.columns[-2:]) == ["alpha.a", "alpha.b"]
    assert frame.loc[1, "alpha.a"] == 0.5 and frame.loc[0, "accuracy"] == pytest.approx(0.9)
    front = store.front_frame("s")
    assert list(front["number"]) == [1, 0] and front["on_front"].all()
    assert store.trials_frame("s", status="pruned").empty
