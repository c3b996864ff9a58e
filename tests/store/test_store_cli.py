"""`octsearch searches | trials | pareto | export` in-process, and the no-torch import check."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys

import pytest
from configs import configuration

from octsearch.cli.main import main
from octsearch.config_file import read_config
from octsearch.store import open_store

# (alphas, accuracy, paper FLOPs); uniform points first, as the search writes them
UNIFORM = [(0.0, 0.950, 40_000_000), (0.25, 0.948, 30_000_000), (0.5, 0.930, 22_000_000), (0.75, 0.880, 16_000_000)]
MIXED = [({"a": 0.0, "b": 0.5}, 0.949, 31_000_000), ({"a": 0.5, "b": 0.25}, 0.945, 24_000_000),
         ({"a": 0.75, "b": 0.5}, 0.920, 18_000_000), ({"a": 0.25, "b": 0.75}, 0.900, 26_000_000)]


@pytest.fixture
def filled(store_url, spec_factory):
    """A search 'demo' with 4 uniform and 4 mixed complete trials, one failed, one running."""
    with open_store(store_url) as store:
        store.create_search(spec_factory("demo"))
        store.create_search(spec_factory("other"))
        for alpha, acc, flops in UNIFORM:
            n = store.start_trial("demo", configuration({"a": alpha, "b": alpha}, flops_paper=flops,
                                                        flops_all=flops + 5000, param_count=270_000))
            store.record_evaluation("demo", n, seed=n, accuracy=acc, n_val=1000)
        for alphas, acc, flops in MIXED:
            n = store.start_trial("demo", configuration(alphas, flops_paper=flops, flops_all=flops + 5000,
                                                        param_count=270_000))
            store.record_evaluation("demo", n, seed=n, accuracy=acc, n_val=1000)
        n = store.start_trial("demo", configuration({"a": 0.125, "b": 0.125}, flops_paper=35_000_000, flops_all=1, param_count=1))
        store.record_failure("demo", n, "RuntimeError: boom\n  at line 3")
        store.start_trial("demo", configuration({"a": 0.125, "b": 0.0}, flops_paper=37_000_000, flops_all=1,
                                                param_count=1))
    return store_url


FRONT = [3, 6, 2, 5, 1, 4, 0]  # by FLOPs: .75 uniform, mixed 18M, .5, mixed 24M, .25, mixed 31M, 0


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_searches(filled, capsys):
    code, out, err = run(capsys, "searches", "--db", filled)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["name", "kind", "status", "model", "sampler", "trials", "complete", "running",
                                "failed", "pruned", "infeasible", "interrupted", "lost", "scored", "created", "(UTC)"]
    assert lines[2].split()[:13] == ["demo", "search", "running", "oct_resnet20", "nsga2", "10", "8", "1", "1", "0", "0", "0", "0"]
    assert "store: " in err
    code, out, _ = run(capsys, "searches", "--db", filled, "--format", "json")
    rows = json.loads(out)
    assert [r["name"] for r in rows] == ["demo", "other"] and rows[1]["trials"] == 0


def test_searches_on_a_fresh_install(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("OCTSEARCH_DB", f"sqlite:///{tmp_path / 'never.db'}")
    code, out, err = run(capsys, "searches")
    assert code == 0 and out.strip() == "(no searches)" and "does not exist yet" in err
    assert not (tmp_path / "never.db").exists()


def test_pareto_table_json_and_csv(filled, capsys):
    code, out, _ = run(capsys, "pareto", "demo", "--db", filled)
    assert code == 0
    lines = out.splitlines()
    assert "7 on the front of 8 complete trials" in lines[0]
    assert lines[1].startswith("hypervolume ") and "10.0% chance accuracy, alpha-0 network's 0.0400 GFLOPs (conv+fc MACs))" in lines[1]
    header = lines[2]
    for unit in ("val acc % (±se)", "GFLOPs (conv+fc MACs)", "x alpha-0", "params (M)", "alphas (slot order)"):
        assert unit in header
    body = [line.split() for line in lines[4:4 + len(FRONT)]]
    assert [int(r[0]) for r in body] == FRONT
    assert lines[-2:] == ["", "each parameter's alpha effect at equal FLOPs (the model of every evaluation): "
                              f"octsearch effects demo --db {filled}"]
    assert body[0][1:4] == ["88.00", "±", "1.03"]  # 0.88 at n_val 1000: stderr sqrt(.88 * .12 / 1000)
    assert body[0][5:9] == ["0.0160", "0.400", "0.270", ".75"]
    code, out, _ = run(capsys, "pareto", "demo", "--db", filled, "--format", "json")
    rows = json.loads(out)
    assert [r["trial"] for r in rows] == FRONT
    assert rows[0]["accuracy"] == pytest.approx(0.88) and rows[0]["flops_paper"] == 16_000_000
    assert rows[0]["alphas"] == {"a": 0.75, "b": 0.75} and rows[0]["accuracy_stderr"] > 0
    assert {"flops_all", "param_count", "flops_ratio", "is_uniform"} <= set(rows[0])
    code, out, _ = run(capsys, "pareto", "demo", "--db", filled, "--format", "csv")
    table = list(csv.DictReader(io.StringIO(out)))
    assert [int(r["trial"]) for r in table] == FRONT and float(table[-1]["accuracy"]) == pytest.approx(0.95)


def test_pareto_plot(filled, capsys, tmp_path):
    path = tmp_path / "front.png"
    code, _, err = run(capsys, "pareto", "demo", "--db", filled, "--plot", str(path))
    assert code == 0 and f"plot written to {path}" in err
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 10_000
    code, _, err = run(capsys, "pareto", "demo", "--db", filled, "--plot", str(tmp_path / "front.jpg"))
    assert code == 2 and "must end in .png" in err


def test_trials_with_status_and_formats(filled, capsys):
    code, out, _ = run(capsys, "trials", "demo", "--db", filled)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split()[-2:] == ["status", "error"]
    assert len(lines) == 2 + 10 + 1 and lines[-1] == "(* on the front)"
    assert "complete *" in lines[2] and "RuntimeError: boom" in out and "at line 3" not in out
    code, out, _ = run(capsys, "trials", "demo", "--db", filled, "--status", "failed", "--format", "json")
    rows = json.loads(out)
    assert [r["trial"] for r in rows] == [8] and rows[0]["error"].startswith("RuntimeError")
    code, out, _ = run(capsys, "trials", "demo", "--db", filled, "--format", "csv")
    assert len(list(csv.DictReader(io.StringIO(out)))) == 10


def test_trials_limit_and_newest_first(filled, capsys):
    code, out, _ = run(capsys, "trials", "demo", "--db", filled, "--limit", "3", "--format", "json")
    assert code == 0 and [r["trial"] for r in json.loads(out)] == [0, 1, 2]
    code, out, _ = run(capsys, "trials", "demo", "--db", filled, "--limit", "2", "--newest", "--format", "json")
    assert code == 0 and [r["trial"] for r in json.loads(out)] == [9, 8]
    code, out, err = run(capsys, "trials", "demo", "--db", filled, "--limit", "0")
    assert code == 2 and "limit=0; accepted: an integer >= 1" in err and out == ""


@pytest.mark.parametrize(
    "rule, trial, why, selection",
    [
        # normalised over the front (88-95%, 16-40M): u + v is largest for 94.5% at 24M
        (["--knee"], 5, "knee of the front of 7", {"rule": "knee"}),
        (["--max-flops", "0.025"], 5,  # GFLOPs
         "most accurate within 0.0250 GFLOPs (conv+fc multiply-adds, 62% of alpha 0)",
         {"rule": "max_flops", "max_flops": 25_000_000}),
        (["--max-flops", "25M"], 5, "most accurate within 0.0250 GFLOPs", {"rule": "max_flops", "max_flops": 25_000_000}),
        (["--max-flops", "50%"], 6,  # of the alpha-0 network: 20M multiply-adds
         "most accurate within 0.0200 GFLOPs (conv+fc multiply-adds, 50% of alpha 0)",
         {"rule": "max_flops", "max_flops": 20_000_000}),
        (["--min-accuracy", "94%"], 5, "cheapest reaching 94.00% val accuracy", {"rule": "min_accuracy", "min_accuracy": 0.94}),
        (["--min-accuracy", "0.949"], 4, "cheapest reaching 94.90% val accuracy",
         {"rule": "min_accuracy", "min_accuracy": 0.949}),
        (["--trial", "7"], 7, "trial 7", {"rule": "trial", "trial": 7}),
    ],
)
def test_export_rules(filled, capsys, tmp_path, rule, trial, why, selection):
    out_file = tmp_path / "cfg.json"
    code, out, err = run(capsys, "export", "demo", *rule, "-o", str(out_file), "--db", filled)
    assert (code, err) == (0, "")
    assert out.startswith(f"wrote {out_file}: trial {trial} of 'demo' ({why}")
    config = read_config(out_file)
    with open_store(filled) as store:
        t = store.trial("demo", trial)
    assert (config.search, config.trial, config.budget) == ("demo", trial, "proxy")
    assert config.alphas == t.configuration.by_slot and config.flops_paper == t.flops_paper and config.accuracy == t.accuracy
    assert config.model_name == "oct_resnet20" and config.model_args["num_classes"] == 10
    assert config.extra["selection"] == selection  # the rule as data, its bound in multiply-adds or a fraction


def test_selection_is_typed_and_the_words_are_the_clis(filled):
    from octsearch.store.export import NothingFits, select_trial

    with open_store(filled) as store:
        chosen = select_trial(store, "demo", max_flops=25e6)
        with pytest.raises(NothingFits) as info:
            select_trial(store, "demo", min_accuracy=0.99)
    assert (chosen.trial.number, chosen.rule, chosen.bound, chosen.front_size, chosen.budget) == (
        5, "max_flops", 25e6, 7, "proxy")
    assert (info.value.rule, info.value.bound, info.value.closest.number) == ("min_accuracy", 0.99, 0)
    assert "%" not in str(info.value) and "GFLOPs" not in str(info.value)


@pytest.mark.parametrize(
    "rule, message",
    [
        (["--max-flops", "0.01"], "no complete trial of search 'demo' has at most 0.0100 GFLOPs (conv+fc "
                                  "multiply-adds, 25% of alpha 0); the closest is trial 3 with 0.0160 GFLOPs"),
        (["--min-accuracy", "99%"], "reaches 99.00% val accuracy; the closest is trial 0 with 95.00%"),
        (["--max-flops", "lots"], "--max-flops 'lots': give GFLOPs (0.02)"),
        (["--max-flops", "20000000"], "reads as 2e+07 GFLOPs"),
        (["--min-accuracy", "95"], "--min-accuracy '95': give a fraction (0.95) or a percentage (95%)"),
        (["--trial", "8"], "trial 8 of search 'demo' is failed; only complete trials can be exported"),
        (["--trial", "80"], "search 'demo' has no trial 80; its trials are numbered 0 to 9"),
    ],
)
def test_export_errors_are_one_line_and_write_nothing(filled, capsys, tmp_path, rule, message):
    out_file = tmp_path / "cfg.json"
    code, out, err = run(capsys, "export", "demo", *rule, "-o", str(out_file), "--db", filled)
    assert code == 2 and out == ""
    assert err.startswith("octsearch: error: ") and err.count("\n") == 1
    assert message in err
    assert not out_file.exists()


def test_export_prefers_revalidated_results(filled, capsys, tmp_path):
    with open_store(filled) as store:
        for seed in (0, 1):  # trial 5 falls behind trial 2 once trained at the full budget
            store.record_evaluation("demo", 2, seed=seed, accuracy=0.96, n_val=1000, budget="full")
            store.record_evaluation("demo", 5, seed=seed, accuracy=0.94, n_val=1000, budget="full")
    out_file = tmp_path / "cfg.json"
    code, out, _ = run(capsys, "export", "demo", "--knee", "-o", str(out_file), "--db", filled)
    assert code == 0 and "re-validated (full-budget) results" in out and "trial 2 " in out
    config = read_config(out_file)
    assert config.budget == "full" and config.accuracy == pytest.approx(0.96)
    code, out, _ = run(capsys, "export", "demo", "--knee", "--budget", "proxy", "-o", str(out_file), "--db", filled)
    assert "proxy-budget results" in out and read_config(out_file).budget == "proxy"
    code, out, _ = run(capsys, "pareto", "demo", "--budget", "full", "--format", "json", "--db", filled)
    assert [r["trial"] for r in json.loads(out)] == [2]


def test_bad_names_and_urls_are_one_line_errors(filled, capsys):
    code, _, err = run(capsys, "pareto", "nope", "--db", filled)
    assert code == 2 and err == "octsearch: error: unknown search 'nope'; choose one of: demo, other\n"
    code, _, err = run(capsys, "trials", "demo", "--db", "postgresql://me:hunter2@127.0.0.1:1/x")
    assert code == 2 and err.startswith("octsearch: error: cannot open store postgresql://me:***@127.0.0.1:1/x: ")
    assert "hunter2" not in err and err.count("\n") == 1
    code, _, err = run(capsys, "pareto", "demo", "--db", "oracle://x")
    assert code == 2 and "accepted: sqlite:///PATH" in err


def test_pareto_does_not_import_torch_or_ray(filled, tmp_path):
    """The store side of the CLI stays light: run it in a fresh interpreter and look."""
    script = (
        "import sys, json\n"
        "import octsearch.store, octsearch.config_file\n"
        "from octsearch.cli.main import main\n"
        f"codes = [main(['pareto', 'demo', '--db', {filled!r}, '--format', 'json']),\n"
        f"         main(['export', 'demo', '--knee', '-o', {str(tmp_path / 'c.json')!r}, '--db', {filled!r}])]\n"
        "heavy = sorted(m for m in ('torch', 'ray', 'fvcore', 'optuna') if m in sys.modules)\n"
        "print(json.dumps({'codes': codes, 'heavy': heavy}))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report == {"codes": [0, 0], "heavy": []}


def test_a_search_that_minimises_all_operator_flops(tmp_path, spec_factory, capsys):
    """The front, hypervolume, table and export all follow the search's FLOPs convention."""
    url = f"sqlite:///{tmp_path / 'all.db'}"
    with open_store(url) as store:
        store.create_search(spec_factory("all", objectives=("accuracy", "flops_all"), reference_flops=100))
        # (accuracy, paper FLOPs, all-operator FLOPs): by paper FLOPs trial 1 would dominate 0
        for n, (acc, paper, every) in enumerate([(0.90, 50, 60), (0.90, 40, 80), (0.95, 70, 90)]):
            number = store.start_trial("all", configuration({"a": n / 4}, flops_paper=paper, flops_all=every,
                                                             param_count=1))
            store.record_evaluation("all", number, seed=0, accuracy=acc, n_val=100)
        assert [t.number for t in store.front("all")] == [0, 2]
        assert store.hypervolume("all") == pytest.approx(0.8 * 0.4 + 0.05 * 0.1)
    code, out, _ = run(capsys, "pareto", "all", "--db", url)
    assert code == 0 and "GFLOPs (all ops MACs)" in out and "conv+fc" not in out
    assert [line.split()[0] for line in out.splitlines()[4:6]] == ["0", "2"]
    code, _, err = run(capsys, "export", "all", "--max-flops", "50%", "-o", str(tmp_path / "x.json"), "--db", url)
    assert code == 2 and "the closest is trial 0 with 0.0000 GFLOPs (all ops multiply-adds, 60% of alpha 0)" in err
    code, out, _ = run(capsys, "export", "all", "--max-flops", "85%", "-o", str(tmp_path / "x.json"), "--db", url)
    assert code == 0 and "trial 0 " in out and "(all ops MACs, 0.600 x alpha 0)" in out


def test_a_corrupted_row_is_one_line_and_exit_2(filled, capsys):
    from sqlalchemy import text

    from octsearch.store.urls import make_engine

    with open_store(filled) as store:
        engine = make_engine(store.database_url)
    with engine.begin() as conn:
        cast = "CAST(:v AS JSON)" if conn.dialect.name == "postgresql" else ":v"
        conn.execute(text(f"UPDATE octsearch_trials SET configuration = {cast} WHERE number = 3"), {"v": '"oops"'})
    engine.dispose()
    for argv in (["pareto", "demo"], ["trials", "demo"], ["export", "demo", "--knee", "-o", "/nonexistent/x.json"]):
        code, out, err = run(capsys, *argv, "--db", filled)
        assert code == 2 and out == ""
        assert err == ("octsearch: error: corrupted row in search 'demo', trial 3: field 'configuration' is 'oops', "
                       "expected a configuration: JSON with params and alphas (name -> alpha, 0 <= alpha < 1) and an "
                       "optional cost of non-negative integers; nothing was changed (fix or delete the row with SQL)\n")
