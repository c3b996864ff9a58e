"""Every sampler the CLI accepts, through real Tune: what Tune pickles when the Tuner is built holds
neither the study nor the sampler (Optuna 5.1's NSGA samplers hold a ``threading.Lock``: a pickled
sampler crashed every NSGA-II and NSGA-III launch), and a real launch draws from each sampler."""

from __future__ import annotations

import pickle

import optuna
import pytest
from optuna.trial import TrialState
from search_helpers import TINY_SPACE, run_cli

from octsearch.search.driver import SearchDriver
from octsearch.search.repeats import RepeatPolicy
from octsearch.search.study import SAMPLER_NAMES, make_sampler, register_search, study_name
from octsearch.search.tuner import searcher_for
from octsearch.spaces import load_space
from octsearch.store import open_store


def _two_alpha_space(folder):
    """The tiny space on alphas {0, .5}: 2 uniform points, so a third trial is the sampler's draw."""
    path = folder / "two.yaml"
    text = TINY_SPACE.format(epochs=1, flops_budget="null", latency="false")
    path.write_text(text.replace("grid: [0, 0.25, 0.5]", "grid: [0, 0.5]").replace("limit: 400", "limit: 200"))
    return path


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def url(request, tmp_path):
    return f"sqlite:///{tmp_path / 's.db'}" if request.param == "sqlite" else request.getfixturevalue("pg_url")


@pytest.mark.parametrize("sampler", SAMPLER_NAMES)
def test_what_tune_pickles_holds_no_study_and_no_sampler(sampler, tmp_path, url):
    from ray import tune

    from octsearch.search.worker import proxy_trainable

    space = load_space(str(_two_alpha_space(tmp_path)))
    store = open_store(url)
    record = register_search(store, space, "p", sampler, 0)
    driver = SearchDriver(space, store, record, RepeatPolicy(seeds=0), 3, lambda event: None)
    driver.resume()
    searcher = searcher_for(driver, make_sampler(sampler, 3, seed=0), None)
    searcher.prefetch()  # a draw in hand, its Optuna trial RUNNING in the store-backed study
    # exactly what Tune pickles: the Tuner pickles its state (the searcher inside) when it is built
    tuner = tune.Tuner(proxy_trainable, tune_config=tune.TuneConfig(search_alg=searcher, num_samples=-1),
                       run_config=tune.RunConfig(storage_path=str(tmp_path / "tune"), name="p"))
    assert tuner is not None
    restored = pickle.loads(pickle.dumps(searcher))
    assert vars(restored) == {"_metric": ["accuracy", "flops"], "_mode": ["max", "min"],
                              "_study": None, "_driver": None}
    searcher.save_to_dir(str(tmp_path))  # Tune's periodic save of the searcher
    assert list(tmp_path.glob("searcher-state-*.pkl"))
    searcher.fail_untold()
    store.close()


@pytest.mark.slow
@pytest.mark.parametrize("sampler", SAMPLER_NAMES)
def test_every_sampler_launches_through_real_tune(sampler, tmp_path):
    db = f"sqlite:///{tmp_path / 'r.db'}"
    proc = run_cli("launch", str(_two_alpha_space(tmp_path)), "--name", "e", "--trials", "3", "--sampler", sampler,
                   "--concurrency", "2", "--db", db, "--results-dir", str(tmp_path / "tune"))
    assert proc.returncode == 0, proc.stderr[-3000:] + proc.stdout[-2000:]
    with open_store(db) as store:
        trials = store.trials("e")
        assert store.get_search("e").status == "finished"
    assert len(trials) == 3 and all(t.status == "complete" for t in trials)
    study = optuna.load_study(study_name=study_name("e"), storage=db)
    told = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    # the two uniform points were enqueued; the third configuration is the sampler's own draw
    drawn = [t for t in told if "fixed_params" not in t.system_attrs]
    assert drawn and all(t.user_attrs.get("outcome") == "trained" for t in drawn[:1])
    assert not study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
