"""The driver-side decisions of a search: repeat selection, Pareto successive halving, samplers."""

from __future__ import annotations

from collections import Counter
from types import SimpleNamespace

import pytest
from ray.tune.schedulers import TrialScheduler
from search_helpers import write_space

from octsearch.errors import ConfigError, UnknownNameError
from octsearch.search.repeats import RepeatPolicy, near_front, next_seed, pick_repeat
from octsearch.search.scheduler import ParetoHalvingScheduler, dominated_by
from octsearch.search.state import DrawAnswer, Flight, Flights, Timings
from octsearch.search.study import make_sampler, population_for


def _t(number, accuracy, flops, se=0.01, n=1, status="complete"):
    return SimpleNamespace(number=number, accuracy=accuracy, accuracy_stderr=se, flops_paper=flops,
                           flops=flops, n_evals=n, status=status)


def test_dominated_by_counts_strict_dominators_only():
    others = [(0.9, 10), (0.9, 20), (0.8, 5), (0.95, 30)]
    assert dominated_by((0.85, 20), others) == 2  # (0.9, 10) and (0.9, 20), which is as costly but more accurate
    assert dominated_by((0.9, 20), others) == 1  # only (0.9, 10): cheaper at equal accuracy
    assert dominated_by((0.99, 1), others) == 0
    assert dominated_by((0.85, 20), others, margin=0.1) == 0


def test_scheduler_stops_a_dominated_trial_and_spares_a_cheap_one():
    flights = Flights()
    scheduler = ParetoHalvingScheduler(flights, rungs=[1], eta=2, min_peers=4)

    def report(trial_id, accuracy, flops, epoch=1, final=0, draw="a sampler draw"):
        flights.add(trial_id, Flight(None, draw))
        trial = SimpleNamespace(trial_id=trial_id)
        return scheduler.on_trial_result(None, trial, {"accuracy": accuracy, "flops": flops,
                                                       "epoch": epoch, "final": final})

    assert report("a", 0.90, 100) == TrialScheduler.CONTINUE
    assert report("b", 0.92, 80) == TrialScheduler.CONTINUE
    assert report("c", 0.91, 90) == TrialScheduler.CONTINUE
    # cheapest of all: no trial both cheaper and more accurate, so it goes on although least accurate
    assert report("cheap", 0.50, 10) == TrialScheduler.CONTINUE
    # two dominators (b, c) of five trials at the rung are not enough: ceil(5 / 2) = 3
    assert report("middling", 0.85, 95) == TrialScheduler.CONTINUE
    # dominated by a, b and c: 3 >= ceil(6 / 2)
    assert report("bad", 0.85, 105) == TrialScheduler.STOP
    assert [t for t in "a b c cheap middling bad".split() if flights.get(t).pruned] == ["bad"]
    assert scheduler.stopped_at == {"bad": 1}
    # a repeat seed or a run again (no sampler draw) is never stopped, however dominated
    assert report("repeat", 0.1, 1000, draw=None) == TrialScheduler.CONTINUE
    # the last epoch (final report) and epochs off the rungs are never judged
    assert report("late", 0.1, 1000, epoch=2) == TrialScheduler.CONTINUE
    assert report("fin", 0.1, 1000, final=1) == TrialScheduler.CONTINUE


def test_near_front_uses_the_noise_margin():
    front = [_t(1, 0.90, 100, se=0.01)]
    assert near_front(_t(2, 0.89, 120, se=0.01), front, margin=1.0)  # 0.01 < 1 * sqrt(2) * 0.01
    assert not near_front(_t(3, 0.80, 120, se=0.01), front, margin=1.0)
    assert near_front(_t(4, 0.50, 50), front, margin=1.0)  # cheaper than every front member


def test_pick_repeat_prefers_front_members_then_fewest_evaluations():
    front = [_t(1, 0.90, 100), _t(2, 0.80, 50)]
    trials = [*front, _t(3, 0.895, 110), _t(4, 0.5, 200), _t(5, 0.9, 90, status="failed")]
    policy = RepeatPolicy(seeds=1, margin=1.0)
    assert pick_repeat(trials, front, policy, "flops_paper", busy=set()) == 1
    assert pick_repeat(trials, front, policy, "flops_paper", busy={1}) == 2
    assert pick_repeat(trials, front, policy, "flops_paper", busy={1, 2}) == 3  # within noise
    assert pick_repeat(trials, front, policy, "flops_paper", busy={1, 2, 3}) is None  # 4 is far off
    done = [_t(1, 0.9, 100, n=2), _t(2, 0.8, 50, n=2)]
    assert pick_repeat(done, done, policy, "flops_paper", busy=set()) is None
    assert pick_repeat(trials, front, RepeatPolicy(seeds=0), "flops_paper", busy=set()) is None


def test_next_seed_never_repeats_a_seed():
    assert next_seed([0, 1, 2], 1) == 3
    assert next_seed([], 1) == 1


@pytest.mark.parametrize("bad", [-1, 1.5, True])
def test_repeat_policy_validates(bad):
    with pytest.raises(ConfigError, match="repeats="):
        RepeatPolicy(seeds=bad)


def test_samplers_fit_the_budget():
    assert population_for(40) == 10 and population_for(8) == 4 and population_for(1000) == 50
    for name in ("nsga2", "nsga3", "tpe", "random", "qmc", "gp"):
        assert make_sampler(name, 40, seed=1, constrained=True) is not None
    assert make_sampler("nsga2", 40, seed=1)._population_size == 10
    with pytest.raises(UnknownNameError, match="choose one of: gp, nsga2, nsga3, qmc, random, tpe"):
        make_sampler("anneal", 10, seed=0)
    with pytest.raises(ConfigError, match="bad argument"):
        make_sampler("tpe", 10, seed=0, args={"no_such_option": 1})


class _Screening:
    """The driver's side that the searcher calls (screen, next_evaluation, dispatch, flights), over
    a real space: alpha .5 anywhere is answered as over budget, never dispatched."""

    def __init__(self, space):
        self.space, self.flights, self.timings, self.screened = space, Flights(), Timings(), []
        # what the searcher reads to tell an exhausted space (nothing taken here) and counts
        self.name, self.known, self.dispatched, self.counts = "s", {}, set(), Counter()
        self.budget_spent = False
        self.tell_sampler = None  # set by the searcher

    def dispatch(self, trial_id, request, draw=None):
        self.flights.add(trial_id, Flight(request, draw))

    def end(self, trial_id, report):  # as SearchDriver.completed does after its store writes
        self.tell_sampler(self.flights.pop(trial_id), report)

    def next_evaluation(self):
        return None

    def drew_at_random(self):
        self.counts["drawn at random (sampler repeating itself)"] += 1

    def screen(self, params):
        self.screened.append(dict(params))
        cfg = self.space.configuration(params)
        if 0.5 in params.values():  # over budget: known from now on, as the driver records it
            self.known[cfg.key] = None
            return cfg, DrawAnswer((0.1, 1.0), over_budget=1.0)
        return cfg, None


def test_a_prefetched_draw_is_screened_once_and_handed_to_the_next_trial(tmp_path):
    import optuna

    from octsearch.search.searcher import StudySearcher
    from octsearch.search.study_history import distributions_of
    from octsearch.search.worker import WorkerReport, request_of
    from octsearch.spaces import load_space

    driver = _Screening(load_space(str(write_space(tmp_path))))
    study = optuna.create_study(directions=["maximize", "minimize"], sampler=optuna.samplers.RandomSampler(seed=0))
    searcher = StudySearcher(study, driver, distributions_of(driver.space))
    searcher.prefetch()
    searcher.prefetch()  # one draw ahead at most
    drawn = len(driver.screened)
    first = request_of(searcher.suggest("t1")).configuration.by_param
    assert len(driver.screened) == drawn  # handed over, not drawn again
    assert 0.5 not in first.values()
    assert driver.flights.get("t1").draw is not None  # a sampler draw in flight, told when it ends
    result = {"accuracy": 0.5, "flops": 2.0, "epoch": 1, "seed": 0, "final": 1}
    searcher.on_trial_complete("t1", result)  # Tune's call: the end is the driver's to handle
    assert not [t for t in study.trials if t.values == [0.5, 2.0]]
    driver.end("t1", WorkerReport.from_tune(result))
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert [t.params for t in complete if t.values == [0.5, 2.0]] == [first]
    second = request_of(searcher.suggest("t2")).configuration.by_param  # nothing prefetched: drawn now
    assert len(driver.screened) > drawn and 0.5 not in second.values()
