"""Which configurations, budget and seeds re-validation plans (no training)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from octsearch.errors import ConfigError
from octsearch.validate.selection import (
    FULL_SEED_BASE,
    check_count,
    choose_trials,
    judge_versus_uniform,
    parse_budget,
    plan_seeds,
    select_trials,
    select_versus_uniform,
)


@pytest.mark.parametrize(("text", "label", "epochs"), [
    ("full", "full", None), (" FULL ", "full", None), ("8", "epochs=8", 8), ("epochs=12", "epochs=12", 12),
])
def test_parse_budget(text, label, epochs):
    choice = parse_budget(text)
    assert (choice.label, choice.epochs) == (label, epochs)


@pytest.mark.parametrize("text", ["proxy", "0", "-3", "2.5", "epochs=0", "", "eight"])
def test_parse_budget_refuses_with_one_line_naming_the_value(text):
    with pytest.raises(ConfigError) as e:
        parse_budget(text)
    assert repr(text) in str(e.value) and "\n" not in str(e.value) and "full" in str(e.value)


@pytest.mark.parametrize("value", [0, -1, True, 2.0])
def test_check_count_refuses(value):
    with pytest.raises(ConfigError, match="--seeds"):
        check_count("--seeds", value)


def test_plan_seeds_avoids_proxy_and_stored_seeds_and_is_deterministic():
    assert plan_seeds(set(), 0, 2) == [FULL_SEED_BASE, FULL_SEED_BASE + 1]
    # seed 1000 used by the proxy (a repeat), 1001 already stored at the budget: one more needed
    assert plan_seeds({0, 1000, 1001}, 1, 3) == [1002, 1003]
    assert plan_seeds({1000, 1001}, 2, 2) == []
    assert plan_seeds({1000}, 5, 2) == []  # more than asked already: nothing


def _t(number, accuracy, uniform=False, status="complete"):
    return SimpleNamespace(number=number, accuracy=accuracy, is_uniform=uniform, status=status)


def test_select_trials_takes_the_top_front_members_and_every_complete_uniform_point():
    front = [_t(4, 0.95), _t(7, 0.97), _t(2, 0.90)]
    trials = [_t(0, 0.9, True), _t(1, 0.8, True), _t(3, None, True, "failed"), _t(2, 0.90), _t(4, 0.95), _t(7, 0.97)]
    assert [t.number for t in select_trials(front, trials)] == [0, 1, 2, 4, 7]
    assert [t.number for t in select_trials(front, trials, top=2)] == [0, 1, 4, 7]
    assert [t.number for t in select_trials(front, [], top=1)] == [7]


# -- --versus-uniform: the open front members and their uniform rivals, seeds by the power calculation


def _pt(trial, flops, acc, uniform=None, se=0.01):
    from octsearch.store.versus_uniform import Measured

    return Measured(trial, flops, acc, se, 2, 10_000, uniform)


def _verdict(members, uniforms, seed_var=4e-4):
    from octsearch.store.versus_uniform import Verdict, compare

    return Verdict("s", "proxy", "flops_paper", compare(members, uniforms, seed_var), 0.02, 3)


def test_versus_uniform_selects_the_open_members_and_their_rivals_with_the_seeds_asked():
    uniforms = [_pt(0, 100, 0.90, 0.0), _pt(1, 50, 0.80, 0.5)]
    members = [_pt(4, 60, 0.84, se=0.03), _pt(5, 70, 0.83, se=0.03), _pt(6, 110, 1.0, se=0.0), _pt(7, 120, 0.9005), _pt(8, 40, 0.9),
               _pt(1, 50, 0.80, 0.5)]
    v = _verdict(members, uniforms)
    by = {c.member: c for c in v.comparisons}
    assert (by[4].settle, by[5].settle, by[6].settle, by[7].settle) == ("seeds", "seeds", "significant", "split")
    assert (by[8].kind, by[1].kind) == ("no_rival", "uniform")
    trials = [_t(n, 0.9, uniform=n in (0, 1)) for n in range(9)]
    chosen = select_versus_uniform(v, trials, cap=100)
    # 4 and 5 share rival 1, which gets the larger ask; 6 is settled, 7 cannot be, 8 has no rival
    assert [t.number for t in chosen.trials] == [1, 4, 5] and chosen.members == {4, 5}
    assert chosen.wants == {4: by[4].seeds_needed, 5: by[5].seeds_needed,
                            1: max(by[4].seeds_needed, by[5].seeds_needed)}
    # m = 4 compared: z(1 - 0.05 / 4) + z(0.8) = 2.2414 + 0.8416 = 3.0830; seed variance 4e-4
    # trial 4: (0.04 / 3.083)^2 - .84 x .16 / 1e4 - .8 x .2 / 1e4 = 1.389e-4: K = 8e-4 / 1.389e-4 = 5.8 -> 6
    # trial 5: (0.03 / 3.083)^2 - .83 x .17 / 1e4 - .8 x .2 / 1e4 = 6.46e-5: K = 12.4 -> 13
    assert (by[4].seeds_needed, by[5].seeds_needed) == (6, 13)
    assert select_versus_uniform(v, trials, cap=3).wants == {1: 3, 4: 3, 5: 3}


def test_versus_uniform_with_nothing_open_or_with_top_is_refused_in_one_line():
    v = _verdict([_pt(6, 110, 1.0, se=0.0), _pt(7, 120, 0.9005)], [_pt(0, 100, 0.90, 0.0)])
    with pytest.raises(ConfigError) as e:
        select_versus_uniform(v, [], cap=10)
    assert str(e.value) == ("search 's' at budget proxy: no front member's verdict against uniform alpha is open to "
                            "more seeds (1 significant, 0 not ahead, 1 below what the validation split resolves, "
                            "of 2 compared); nothing to re-validate")
    with pytest.raises(ConfigError, match="--top and --versus-uniform"):
        choose_trials(None, "s", [], [], label="full", top=2, seeds=None, versus_uniform=True)


TINY_SPACE = """\
model:
  name: oct_resnet20
  args: {width_mult: 0.5}
data: {name: mnist, seed: 0, val_fraction: 0.2, limit: 400}
search:
  grid: [0, 0.25, 0.5]
  params:
    stage1.out: {slots: [stage1.out]}
    rest: {slots: ["stage2.*", "stage1.block*.inner"]}
budget: {epochs: 1, batch_size: 16, seed: 0, full: {epochs: 2}}
sampler: {name: nsga2, trials: 4, concurrency: 2}
"""
# (params, paper FLOPs, two proxy accuracies on 10,000 images): uniform 0 is dominated by trial 3;
# trial 3 (+5 points over uniform .25, seeds 6 apart) is open, trial 4 (+4 over .5) significant
TINY_TRIALS = [(0.0, 100, (0.90, 0.92)), (0.25, 80, (0.86, 0.88)), (0.5, 60, (0.80, 0.82)),
               ({"stage1.out": 0.5, "rest": 0.0}, 90, (0.89, 0.95)), ({"stage1.out": 0.0, "rest": 0.5}, 70, (0.845, 0.855))]


@pytest.fixture
def tiny_search(tmp_path):
    """Search 'tiny' written through the store API with stated costs (nothing counted, no Ray)."""
    from octsearch.configuration import Cost
    from octsearch.spaces import space_from_text
    from octsearch.store import SearchSpec, open_store

    db = f"sqlite:///{tmp_path / 'r.db'}"
    space = space_from_text(TINY_SPACE, "tiny")
    with open_store(db) as store:
        store.create_search(SearchSpec(name="tiny", space_text=TINY_SPACE, model_name=space.model_name,
                                       model_args=dict(space.model_args), reference_accuracy=0.1, reference_flops=100))
        for params, flops, accs in TINY_TRIALS:
            n = store.start_trial("tiny", space.configuration(params).with_cost(Cost(flops, flops, 1000)))
            for seed, acc in enumerate(accs):
                store.record_evaluation("tiny", n, seed=seed, accuracy=acc, n_val=10_000)
    return db


def test_revalidate_plan_versus_uniform(tiny_search):
    from octsearch.store import open_store
    from octsearch.validate.run import RevalidateOptions, prepare

    # hand: m = 2; target SE^2 = (0.05 / (1.960 + 0.842))^2 = 3.19e-4, binomial 1.87e-5, pooled seed
    # variance (3 x 2e-4 + 1.8e-3 + 5e-5) / 5 = 4.9e-4: K = 2 x 4.9e-4 / 3.0e-4 = 3.3 -> 4
    store, _, plan = prepare(RevalidateOptions("tiny", versus_uniform=True, db=tiny_search))
    store.close()
    assert plan.selected == (1, 3) and plan.front_members == (3,) and plan.uniform == (1,)
    assert plan.seeds == (4, 4) and len(plan.jobs) == 8 and plan.verdict.budget == "proxy"
    assert {j.seed for j in plan.jobs} == set(range(FULL_SEED_BASE, FULL_SEED_BASE + 4))
    store, _, plan = prepare(RevalidateOptions("tiny", versus_uniform=True, seeds=3, db=tiny_search))
    store.close()
    assert plan.seeds == (3, 3) and len(plan.jobs) == 6
    # once the target budget has uniform results, the verdict is judged there
    with open_store(tiny_search) as store:
        for n, accs in ((1, (0.90, 0.91)), (3, (0.93, 0.94))):
            for seed, acc in enumerate(accs):
                store.record_evaluation("tiny", n, seed=FULL_SEED_BASE + seed, accuracy=acc, n_val=10_000, budget="full")
        assert judge_versus_uniform(store, "tiny", "full").budget == "full"
        assert judge_versus_uniform(store, "tiny", "epochs=3").budget == "proxy"


def test_revalidate_versus_uniform_plan_line_and_bad_input(tiny_search, capsys):
    from octsearch.cli.main import main
    from octsearch.cli.validate_commands import _plan_line, _verdict_plan
    from octsearch.validate.run import RevalidateOptions, prepare

    store, _, plan = prepare(RevalidateOptions("tiny", versus_uniform=True, db=tiny_search))
    store.close()
    assert _plan_line(plan).startswith("revalidate 'tiny' at budget full (2 epochs; the proxy trains 1): 2 "
                                       "configuration(s) (1 front member(s) still open against uniform alpha, "
                                       "1 uniform-alpha point(s)), 4 seed(s) each: 8 run(s) to train")
    assert _verdict_plan(plan.verdict).startswith("versus uniform alpha at budget proxy: per-layer beats uniform "
                                                  "at 2 of 2 FLOPs levels (1 significant at 5%); test: one-sided")
    assert main(["revalidate", "nope", "--versus-uniform", "--db", tiny_search]) == 2
    assert "unknown search 'nope'; choose one of: tiny" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        main(["revalidate", "tiny", "--versus-uniform", "--top", "1", "--db", tiny_search])
    err = capsys.readouterr().err
    assert e.value.code == 2 and "not allowed with argument" in err and err.count("\n") == 1
