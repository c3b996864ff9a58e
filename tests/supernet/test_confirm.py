"""Screen and confirm (``launch --evaluator supernet --confirm K``): the choice of what to confirm,
the bad-input one-liners (no Ray), and one real run end to end (a supernet and K stand-alone
trials on a local Ray)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from supernet_spaces import two_alpha_space

from octsearch.cli.main import main
from octsearch.spaces import space_from_text
from octsearch.store import open_store
from octsearch.supernet.confirm import choose_confirmations, companion_name
from octsearch.supernet.settings import SUPERNET_BUDGET

THREE = two_alpha_space("confirm choice test space").replace("grid: [0, 0.5]", "grid: [0, 0.25, 0.5]")
# Non-uniform configurations of THREE -> supernet accuracy. FLOPs (conv+fc, M multiply-adds):
# (.5,.25) 1.589 < (.25,.5) 1.614 < (.5,0) 1.696 < (0,.5) 1.746 < (.25,0) 1.828 < (0,.25) 1.853.
SCORES = {(0.5, 0.25): 0.90, (0.25, 0.5): 0.95, (0.5, 0.0): 0.93, (0.0, 0.5): 0.96, (0.25, 0.0): 0.97,
          (0.0, 0.25): 0.94}
LAYER_1 = [(0.5, 0.25), (0.25, 0.5), (0.0, 0.5), (0.25, 0.0)]  # the supernet's front, cheapest first
LAYER_2 = [(0.5, 0.0), (0.0, 0.25)]


def _scored(space):  # noqa: ANN001, ANN202
    uniform = [(u, 0.5) for u in space.uniform_configurations()]  # scores of uniform points do not matter
    return uniform + [(space.from_params({"stage1.out": a, "stage2.out": b}), acc) for (a, b), acc in SCORES.items()]


def _alphas(picks) -> list[tuple[float, float]]:  # noqa: ANN001
    return [(p.configuration.by_param["stage1.out"], p.configuration.by_param["stage2.out"]) for p in picks]


@pytest.mark.parametrize("k, extra", [(3, []), (5, LAYER_1[:2]), (7, LAYER_1), (8, [*LAYER_1, LAYER_2[0]]),
                                      (9, LAYER_1 + LAYER_2)])
def test_uniform_points_then_the_supernets_pareto_layers_cheapest_first(k, extra):
    space = space_from_text(THREE, "three")
    picks = choose_confirmations(space, _scored(space), k)
    assert _alphas(picks) == [(0.0, 0.0), (0.25, 0.25), (0.5, 0.5), *extra]
    assert [p.layer for p in picks] == [0, 0, 0, *[1 if e in LAYER_1 else 2 for e in extra]]


def test_configurations_over_the_flops_budget_are_never_chosen():
    space = space_from_text(THREE + "flops_budget: 0.0017\n", "three_budget")  # GFLOPs: 1.7 M multiply-adds
    picks = choose_confirmations(space, _scored(space), 9)
    assert _alphas(picks)[3:] == [(0.5, 0.25), (0.25, 0.5), (0.5, 0.0)]  # fewer than 9: the rest is over budget


def test_report_fits_the_model_on_both_budgets_with_the_budget_as_a_term(tmp_path):
    """Planted: stand-alone accuracy 80 + 4 at stage1.out .25 + 2 at stage2.out .5 (points); the
    supernet scores every configuration 3 points lower, give or take 0.1; five are confirmed."""
    from scipy.stats import kendalltau

    from octsearch.search.study import register_search
    from octsearch.supernet.evaluate import SupernetScore
    from octsearch.supernet.record import record_scores, register_supernet_search
    from octsearch.supernet.report import confirm_report

    space = space_from_text(THREE, "three")
    grid = (0.0, 0.25, 0.5)
    configurations = [space.with_cost(space.from_params({"stage1.out": a, "stage2.out": b})) for a in grid for b in grid]
    truth = {c.key: 80 + 4 * (c.by_param["stage1.out"] == 0.25) + 2 * (c.by_param["stage2.out"] == 0.5)
             for c in configurations}
    wobble = [0.1, -0.1, 0.05, -0.05, 0.0, 0.1, -0.1, 0.05, -0.05]
    with open_store(f"sqlite:///{tmp_path / 'm.db'}") as store:
        register_supernet_search(store, space, "m.supernet", 0)
        record_scores(store, space, "m.supernet", [SupernetScore(c, round(100 * (truth[c.key] - 3 + w)), 10_000, 0.1)
                                                   for c, w in zip(configurations, wobble, strict=True)], seed=0)
        register_search(store, space, "m", "random", 0)
        for c in configurations[::2]:
            number = store.start_trial("m", c)
            store.record_evaluation("m", number, seed=0, accuracy=truth[c.key] / 100, n_val=10_000)
        report = confirm_report(store, "m", "m.supernet")
    confirmed = configurations[::2]  # tau-b of the planted values (ties in the stand-alone accuracies)
    expected = kendalltau([truth[c.key] - 3 + wobble[2 * i] for i, c in enumerate(confirmed)],
                          [truth[c.key] for c in confirmed])
    assert (report.agreement.n, report.agreement.tau) == (5, pytest.approx(expected.statistic, abs=1e-9))
    assert report.agreement.p_value == pytest.approx(expected.pvalue)
    model = report.model
    assert report.model_missing is None and model.n == {"proxy": 5, "supernet": 9}
    assert "C(budget, Treatment('proxy'))" in model.formula
    assert model.offset == pytest.approx(-3.0, abs=0.2) and model.offset_se < 0.5
    assert report.front and all(c.on_front and c.standalone is not None for c in report.front)
    from octsearch.cli.launch_view import confirm_lines

    text = "\n".join(confirm_lines(report))
    assert "Kendall tau-b +0.8" in text and "(n 5," in text and "supernet minus stand-alone -3.0" in text, text


# 9 configurations, 3 of them uniform; 315 training images: enough to recalibrate on 250
SPACE = two_alpha_space("confirm test space", limit=420, batch=50).replace("grid: [0, 0.5]", "grid: [0, 0.25, 0.5]")


@pytest.fixture
def space_file(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(SPACE)
    return path


@pytest.mark.parametrize("extra, says", [
    (["--evaluator", "supernet", "--confirm", "10"], "--confirm 10 is more than the 9 configurations"),
    (["--evaluator", "supernet", "--confirm", "2"], "--confirm 2 is fewer than the space's 3 uniform-alpha points"),
    (["--confirm", "3"], "--confirm 3 without --evaluator supernet"),
    (["--evaluator", "supernet"], "--evaluator supernet without --confirm"),
    (["--evaluator", "supernet", "--confirm", "3", "--replay", "t"], "--evaluator supernet with --replay t"),
    (["--evaluator", "supernet", "--confirm", "3", "--trials", "4"], "--trials 4 with --evaluator supernet"),
    (["--json", "r.json"], "--json r.json without --evaluator supernet"),
])
def test_bad_input_is_one_line_and_writes_nothing(space_file, tmp_path, capsys, extra, says):
    db = f"sqlite:///{tmp_path / 'c.db'}"
    assert main(["launch", str(space_file), "--name", "c", "--db", db, *extra]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("octsearch: error: ") and says in err and "\n" not in err, err
    assert "accepted" in err
    if (tmp_path / "c.db").exists():
        with open_store(db) as store:
            assert store.list_searches() == []


@pytest.mark.slow
def test_screen_then_exactly_k_stand_alone_trials(space_file, tmp_path, capsys):
    db, report = f"sqlite:///{tmp_path / 'c.db'}", tmp_path / "report.json"
    # K = 5: the 3 uniform points and 2 of the 6 others (a random sampler would pick those 2 with odds 1 in 15)
    args = ["launch", str(space_file), "--name", "c", "--evaluator", "supernet", "--confirm", "5", "--db", db,
            "--results-dir", str(tmp_path / "tune"), "--json", str(report)]
    assert main(args) == 0
    out = capsys.readouterr().out
    space = space_from_text(SPACE, "tiny")
    with open_store(db) as store:
        scored = [(t.configuration, t.accuracy) for t in store.scored_trials(companion_name("c"), SUPERNET_BUDGET)]
        chosen = {p.configuration.key for p in choose_confirmations(space, scored, 5)}
        trials = store.trials("c")
        # exactly K stand-alone trials, of the chosen configurations, each trained once at the proxy budget
        assert sorted(t.status for t in trials) == ["complete"] * 5
        assert {t.configuration.key for t in trials} == chosen
        assert store.budgets("c") == {"proxy": 5}  # no supernet score in the search's own figures
        assert store.budgets(companion_name("c")) == {SUPERNET_BUDGET: 9}
        assert all(t.accuracy is None for t in store.trials(companion_name("c")))  # nor proxy figures there
    assert "screen: the supernet (1 epoch(s)) scores the space into search 'c.supernet'" in out
    assert "screen: supernet trained 1 epoch(s)" in out and "9 configuration(s) scored" in out
    assert "Kendall tau-b" in out and "(n 5" in out
    body = json.loads(report.read_text())
    assert body["agreement"]["n"] == 5 and body["screen"]["companion"] == "c.supernet"
    assert {tuple(sorted(p["params"].items())) for p in body["screen"]["picks"]} == {
        tuple(sorted(c.by_param.items())) for c, _ in scored if c.key in chosen}
    # A rerun trains nothing: the scores are stored, the confirmation done.
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "nothing trained" in out and "already has 5 of 5 trials" in out
