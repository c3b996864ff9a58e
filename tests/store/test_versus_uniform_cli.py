"""`pareto --versus-uniform`, the verdict lines of `launch` and `export`, on stores written through
the store API (no Ray)."""

from __future__ import annotations

import json
import math

import pytest
from configs import configuration

from octsearch.cli.main import main
from octsearch.cli.verdict_view import verdict_line
from octsearch.config_file import read_config
from octsearch.store import open_store
from octsearch.store.versus_uniform import versus_uniform

N_VAL = 10_000
# (alphas, two seeds' accuracies, paper FLOPs); uniform points first, as a search writes them
UNIFORM = [(0.0, (0.948, 0.952), 40_000_000), (0.25, (0.928, 0.932), 30_000_000),
           (0.5, (0.898, 0.902), 22_000_000), (0.75, (0.848, 0.852), 16_000_000)]
MIXED = [({"a": 0.0, "b": 0.5}, (0.953, 0.957), 31_000_000),  # 4: +2.5 points over .25: significant
         ({"a": 0.5, "b": 0.25}, (0.91, 0.97), 24_000_000),  # 5: +4 over .5, but seeds 6 points apart
         ({"a": 0.75, "b": 0.5}, (0.858, 0.862), 15_000_000)]  # 6: cheaper than every uniform point


def _write(store, name, rows):
    for alphas, accs, flops in rows:
        if not isinstance(alphas, dict):
            alphas = {"a": alphas, "b": alphas}
        n = store.start_trial(name, configuration(alphas, flops_paper=flops, flops_all=flops + 5000,
                                                  param_count=270_000))
        for seed, acc in enumerate(accs):
            store.record_evaluation(name, n, seed=seed, accuracy=acc, n_val=N_VAL)


@pytest.fixture
def judged(store_url, spec_factory):
    """Search 'demo' (front: 6, uniform .5, 5, 4), 'flat' (no uniform trial) and 'close' (gains
    within the noise only)."""
    with open_store(store_url) as store:
        for name in ("demo", "flat", "close"):
            store.create_search(spec_factory(name))
        _write(store, "demo", UNIFORM + MIXED)
        _write(store, "flat", MIXED)
        _write(store, "close", UNIFORM[:2] + [({"a": 0.0, "b": 0.25}, (0.931, 0.937), 35_000_000)])
    return store_url


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _se(accs):
    """The store's SE (records.aggregate): binomial on the split + spread across seeds."""
    p = sum(accs) / len(accs)
    s2 = sum((a - p) ** 2 for a in accs) / (len(accs) - 1)
    return math.sqrt(p * (1 - p) / N_VAL + s2 / len(accs))


def test_the_verdict_of_each_front_member(judged):
    with open_store(judged) as store:
        v = versus_uniform(store, "demo")
    kinds = [(c.member, c.kind, c.rival) for c in v.comparisons]
    assert kinds == [(6, "no_rival", None), (2, "uniform", None), (5, "compared", 2), (4, "compared", 1)]
    c4, c5 = v.comparisons[3], v.comparisons[2]
    se = math.hypot(_se((0.953, 0.957)), _se((0.928, 0.932)))
    assert c4.difference == pytest.approx(0.025) and c4.stderr == pytest.approx(se)
    assert c4.z == pytest.approx(0.025 / se) and c4.significant
    assert c5.difference == pytest.approx(0.04) and not c5.significant and c5.settle == "seeds"
    assert (v.levels, v.wins, v.significant_wins, v.seed_groups) == (2, 2, 1, 7)
    assert v.seeds_needed == c5.seeds_needed >= 3


def test_pareto_versus_uniform_text(judged, capsys):
    code, out, _ = run(capsys, "pareto", "demo", "--versus-uniform", "--db", judged)
    assert code == 0
    assert "versus uniform alpha (budget proxy)" in out and "GFLOPs = 1e9 conv+fc multiply-adds" in out
    assert "per-layer beats uniform at 2 of 2 FLOPs levels (1 significant at 5%)" in out
    assert "test: one-sided z-test" in out and "Holm-Bonferroni" in out and "(m = 2), alpha 5%" in out
    assert "uniform itself: compared with nothing" in out and "no rival: cheaper than every uniform point" in out
    assert "what would settle it: up to" in out and "octsearch revalidate demo --versus-uniform" in out
    verdict = out[out.index("versus uniform alpha"):].splitlines()
    row = next(line for line in verdict if line.startswith("4 "))
    assert "+2.50 ± 0.43" in row and row.endswith("significant at 5%") and "1 (alpha .25)" in row
    row = next(line for line in verdict if line.startswith("5 "))
    assert "+4.00 ± 3.03" in row and "not significant at 5%; 3 seeds each give 80% power" in row


def test_pareto_versus_uniform_json_and_csv(judged, capsys):
    code, out, _ = run(capsys, "pareto", "demo", "--versus-uniform", "--format", "json", "--db", judged)
    data = json.loads(out)
    assert code == 0 and [r["trial"] for r in data["front"]] == [6, 2, 5, 4]
    v = data["versus_uniform"]
    assert (v["levels"], v["wins"], v["significant_wins"], v["alpha"]) == (2, 2, 1, 0.05)
    c4 = v["comparisons"][3]
    assert c4["member"] == 4 and c4["rival"] == 1 and c4["difference"] == pytest.approx(0.025)
    assert c4["significant"] is True and c4["p_corrected"] == pytest.approx(2 * c4["p_value"])
    code, out, _ = run(capsys, "pareto", "demo", "--versus-uniform", "--format", "csv", "--db", judged)
    assert out.splitlines()[0].startswith("member,member_flops,") and len(out.splitlines()) == 5


def test_none_significant_says_so_and_what_would_settle_it(judged, capsys):
    code, out, _ = run(capsys, "pareto", "close", "--versus-uniform", "--db", judged)
    assert code == 0 and "per-layer beats uniform at 1 of 1 FLOPs level (none significant at 5%)" in out
    assert "not significant at 5%; below what the split resolves" in out
    assert "trial(s) 2: the gain is below what the validation split resolves" in out and "what would" not in out


@pytest.mark.parametrize(("name", "message"), [
    ("nope", "unknown search 'nope'; choose one of: close, demo, flat"),
    ("flat", "search 'flat' has no complete uniform-alpha trial at budget 'proxy'"),
])
def test_bad_input_is_one_line_exit_2(judged, capsys, name, message):
    code, out, err = run(capsys, "pareto", name, "--versus-uniform", "--db", judged)
    assert code == 2 and message in err and err.count("\n") == 1 and not out


def test_launch_closing_line(judged):
    line = verdict_line(judged, "demo")
    assert "\n" not in line
    assert line.startswith("versus uniform alpha (budget proxy): per-layer beats uniform at 2 of 2 FLOPs levels "
                           "(1 significant at 5%), one-sided z-test, Holm-corrected; to settle: ")
    assert f"details: octsearch pareto demo --versus-uniform --db {judged}" in line
    assert verdict_line(judged, "flat").startswith("versus uniform alpha: not judged (search 'flat' has no")


def test_export_states_the_verdict_in_text_and_file(judged, capsys, tmp_path):
    out_file = tmp_path / "c.json"
    code, out, _ = run(capsys, "export", "demo", "--trial", "5", "-o", str(out_file), "--db", judged)
    assert code == 0
    line = out.splitlines()[1]
    assert line.startswith("versus uniform alpha (budget proxy): trial 5 (0.0240 GFLOPs) vs uniform alpha .5 "
                           "(trial 2, 0.0220 GFLOPs): +4.00 ±")
    assert "Holm-corrected over 2 compared" in line and "not significant" in line
    stated = read_config(out_file).extra["versus_uniform"]
    assert stated["member"] == 5 and stated["rival"] == 2 and stated["difference"] == pytest.approx(0.04)
    assert stated["significant"] is False and stated["compared"] == 2 and stated["test"].startswith("one-sided")
    code, out, _ = run(capsys, "export", "flat", "--knee", "-o", str(out_file), "--db", judged)
    assert code == 0 and "versus uniform alpha: not judged" in out
    assert "versus_uniform" not in read_config(out_file).extra


def test_nothing_compared_is_said_so():
    from octsearch.cli.verdict_view import summary
    from octsearch.store.versus_uniform import Measured, Verdict, compare

    only_uniform = compare([Measured(0, 10, 0.9, 0.01, 1, 1000, 0.5)], [Measured(0, 10, 0.9, 0.01, 1, 1000, 0.5)], None)
    verdict = Verdict("s", "proxy", "flops_paper", only_uniform, None, 0)
    assert summary(verdict) == "no per-layer front member has a uniform rival with no more FLOPs: nothing compared"
