"""`octsearch effects` on stores written through the store's public API: the report, its files, and
each bad input as one line (exit 2) that changes nothing stored."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from planted_tables import PARAMS, PLANTED, planted_table

from octsearch.analysis.evaluations import pick_budget
from octsearch.analysis.model import fit
from octsearch.cli.main import main
from octsearch.errors import ConfigError

STRONG = dict(PLANTED, **{"stage1.inner": {0.25: 0.0, 0.5: -4.0}})


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(capsys, *argv) -> str:
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert err.startswith("octsearch: error: ") and err.count("\n") == 1, err
    return err


def _digest(url: str) -> str:
    return hashlib.sha256(Path(url.removeprefix("sqlite:///")).read_bytes()).hexdigest()


@pytest.fixture
def planted_url(write_table):
    """A table of 81 configurations x 3 seeds with stage1.inner at .5 costing 4 points."""
    return write_table(planted_table(np.random.default_rng(3), STRONG, seeds=3))


def test_the_report_and_its_files(planted_url, capsys, tmp_path):
    before = _digest(planted_url)
    (tmp_path / "out").mkdir()
    files = {k: tmp_path / "out" / f"effects.{k}" for k in ("png", "json", "csv")}
    code, out, err = run(capsys, "effects", "planted", "--db", planted_url, "--plot", str(files["png"]),
                         "--json", str(files["json"]), "--csv", str(files["csv"]))
    assert code == 0, err
    assert "search 'planted' (a table: every configuration tabulated), budget proxy: 243 evaluations of 81" in out
    assert "points of validation accuracy" in out and "FLOPs in the search's convention (conv+fc)" in out
    assert "failures: none of 243 evaluations" in out and "SE = the larger of the cluster-robust" in out
    assert "stage1.inner matters" in out and "alpha .5 costs" in out
    assert "the model predicts a new seed better than the means" in out
    assert "interactions: not modelled; the 24 pairwise interaction terms together: F(24, " in out
    assert _digest(planted_url) == before  # the command only reads

    result = json.loads(files["json"].read_text())
    big = next(e for e in result["effects"] if e["parameter"] == "stage1.inner" and e["alpha"] == 0.5)
    assert abs(big["estimate"] + 4.0) <= 2 * big["se"] and big["p_holm"] < 0.05
    assert result["effect_unit"].startswith("points of validation accuracy")
    cv = result["diagnostics"]["cv"]
    assert cv["folds"] == [0, 1, 2] and cv["rmse_model"] < cv["rmse_means"]
    rows = files["csv"].read_text().splitlines()
    assert rows[0].startswith("search,budget,parameter,stage,alpha,reference,estimate,se,") and len(rows) == 9
    png = files["png"].read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["effects.csv", "effects.json", "effects.png"]


def test_training_failures_are_counted_and_left_out(write_table, capsys):
    frame = planted_table(np.random.default_rng(4), STRONG, seeds=2)
    collapsed = [5, 40, 120]  # three seeds that ended near chance (10%)
    frame.loc[collapsed, "accuracy"] = [11.0, 9.6, 10.4]
    code, out, err = run(capsys, "effects", "planted", "--db", write_table(frame))
    assert code == 0, err
    assert "failures: 3 of 162 evaluations in 3 configurations left out" in out
    assert "threshold 50.8% validation accuracy" in out  # 10% chance + (91.5% median - 10%) / 2
    assert "159 evaluations of 81 configurations" in out
    assert "stage1.inner matters" in out


def test_an_unknown_search_lists_the_names(planted_url, capsys):
    err = one_line_error(capsys, "effects", "nosuch", "--db", planted_url)
    assert "unknown search 'nosuch'" in err and "planted" in err


def test_a_budget_without_evaluations_lists_those_with(planted_url, capsys):
    err = one_line_error(capsys, "effects", "planted", "--budget", "full", "--db", planted_url)
    assert "no evaluations at budget 'full'; budgets with evaluations (count): proxy (243)" in err


def test_the_budget_with_the_most_evaluations_is_the_default():
    assert pick_budget("s", {"proxy": 40, "full": 60}, None) == "full"
    assert pick_budget("s", {"proxy": 40, "full": 40}, None) == "full"  # a tie: the first by name
    with pytest.raises(ConfigError, match="has no stored evaluations yet"):
        pick_budget("s", {}, None)


def test_too_few_evaluations_says_how_many_more(write_table, capsys):
    frame = planted_table(np.random.default_rng(5), seeds=1).iloc[::7]  # 12 of 81 configurations, 1 seed
    err = one_line_error(capsys, "effects", "planted", "--db", write_table(frame))
    assert ("search 'planted' at budget 'proxy': 12 evaluations for a model of 11 terms (intercept, 2 FLOPs, "
            "8 alpha effects over 4 parameter(s), 0 seed); it needs at least 14: 2 more") in err


def test_one_evaluation_is_too_few_not_a_constant_accuracy(write_table, capsys):
    frame = planted_table(np.random.default_rng(5), seeds=1).iloc[:1]  # a launch's first trial
    err = one_line_error(capsys, "effects", "planted", "--db", write_table(frame))
    assert "1 evaluations for a model of" in err and "more" in err and "constant" not in err


def test_a_constant_accuracy_is_refused(write_table, capsys):
    frame = planted_table(np.random.default_rng(6)).assign(accuracy=92.4)
    err = one_line_error(capsys, "effects", "planted", "--db", write_table(frame))
    assert "every evaluation has validation accuracy 92.40%: a constant accuracy carries no effect" in err


def test_a_non_finite_accuracy_is_refused():
    frame = planted_table(np.random.default_rng(7))
    frame.loc[3, "accuracy"] = float("nan")
    with pytest.raises(ConfigError, match=r"1 of 162 accuracies are not finite \(nan\)"):
        fit(frame, PARAMS)


@pytest.mark.parametrize("plot, says", [
    ("missing-dir/effects.png", "does not exist"),
    ("effects.svg", "must end in .png"),
    ("a-dir.png", "it is a directory"),
])
def test_a_plot_that_cannot_be_written_writes_nothing(planted_url, capsys, tmp_path, plot, says):
    (tmp_path / "a-dir.png").mkdir()
    before = sorted(p.name for p in tmp_path.iterdir())
    err = one_line_error(capsys, "effects", "planted", "--db", planted_url, "--plot", str(tmp_path / plot),
                         "--json", str(tmp_path / "effects.json"))
    assert says in err and "plot file" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no JSON, no half-written plot


def test_the_analysis_loads_neither_torch_nor_ray(planted_url):
    script = ("import sys\nfrom octsearch.store import open_store\nfrom octsearch.analysis import search_effects\n"
              f"with open_store({planted_url!r}, create=False, upgrade=False) as s:\n"
              "    search_effects(s, 'planted')\n"
              "print(sorted(m for m in ('torch', 'ray', 'optuna') if m in sys.modules))\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_a_file_that_holds_no_store_stays_untouched(capsys, tmp_path):
    (tmp_path / "empty.db").write_bytes(b"")
    err = one_line_error(capsys, "effects", "demo", "--db", f"sqlite:///{tmp_path / 'empty.db'}")
    assert "holds no octsearch store" in err
    err = one_line_error(capsys, "effects", "demo", "--db", f"sqlite:///{tmp_path / 'new' / 'x.db'}")
    assert "no octsearch database at" in err
    assert (tmp_path / "empty.db").read_bytes() == b"" and sorted(p.name for p in tmp_path.iterdir()) == ["empty.db"]


def test_a_p_value_next_to_the_5_percent_line_says_which_side_it_is_on():
    from octsearch.cli.effects_view import p_text

    assert [p_text(v) for v in (0.0498, 0.0503, 0.05, 0.012, 0.0004)] == ["0.0498", "0.0503", "0.050", "0.012", "4.0e-04"]
