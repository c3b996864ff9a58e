"""``octsearch revalidate`` end to end: a real search launched through the CLI, re-validated on a
local Ray with real training, results in SQLite under tmp_path."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess

import pytest
from search_helpers import end_group, octsearch_cmd, wait_for

from octsearch.store import SearchSpec, open_store
from octsearch.validate.selection import FULL_SEED_BASE

# 320 training and 80 validation images; batch 16 so one epoch already leaves chance level
SPACE = """\
description: tiny re-validation space
model:
  name: oct_resnet20
  args: {width_mult: 0.5}
data: {name: mnist, seed: 0, val_fraction: 0.2, limit: 400}
search:
  grid: [0, 0.25, 0.5]
  params:
    stage1.out: {slots: [stage1.out]}
    rest: {slots: ["stage2.*", "stage1.block*.inner"]}
budget:
  epochs: 1
  batch_size: 16
  optimizer: {name: sgd, lr: 0.05}
  seed: 0
  threads: 1
  full: {epochs: 2}
sampler: {name: nsga2, trials: 4, concurrency: 2}
"""
TAU_LINE = re.compile(r"Kendall tau-b (?:= -?[0-9.]+ over n = (\d+)|undefined \(n = (\d+))")


def _env() -> dict[str, str]:
    # a Ray that another process started with `ray start` would otherwise be joined by `launch`
    return dict(os.environ)


def _run(*args: str, timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run(octsearch_cmd(*args), capture_output=True, text=True, timeout=timeout, env=_env())


def _space(tmp_path):
    path = tmp_path / "tinyfull.yaml"
    path.write_text(SPACE)
    return path


def _db(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'results.db'}"


@pytest.mark.slow
def test_revalidate_trains_front_and_uniform_points_once_per_seed(tmp_path):
    db = _db(tmp_path)
    launch = _run("launch", str(_space(tmp_path)), "--name", "x", "--trials", "4", "--db", db,
                  "--results-dir", str(tmp_path / "tune"))
    assert launch.returncode == 0, launch.stderr + launch.stdout
    store = open_store(db)
    selected = {t.number for t in store.front("x")} | {t.number for t in store.trials("x") if t.is_uniform}
    proxy_seeds = {(e.trial, e.seed) for e in store.evaluations("x", budget="proxy")}

    first = _run("revalidate", "x", "--seeds", "2", "--db", db)
    assert first.returncode == 0, first.stderr + first.stdout
    evals = store.evaluations("x", budget="full")
    seeds: dict[int, list[int]] = {}
    for e in evals:
        seeds.setdefault(e.trial, []).append(e.seed)
        assert len(e.epoch_accuracies) == 2 and e.n_val == 80 and 0 <= e.accuracy <= 1 and e.node
        assert (e.trial, e.seed) not in proxy_seeds and e.seed >= FULL_SEED_BASE
    assert set(seeds) == selected
    assert all(len(s) == 2 and len(set(s)) == 2 for s in seeds.values())
    match = TAU_LINE.search(first.stdout)
    assert match, first.stdout
    assert int(match.group(1) or match.group(2)) == len(selected)
    assert "proxy-front members still on the full front" in first.stdout
    assert "noise floor at full: seed-to-seed std" in first.stdout

    again = _run("revalidate", "x", "--seeds", "2", "--db", db, "--format", "json")
    assert again.returncode == 0, again.stderr
    assert "nothing to train" in again.stderr and "Ray" not in again.stderr
    report = json.loads(again.stdout)
    assert report["kendall_tau"]["n"] == len(selected) and report["budget"] == "full"
    assert {r["trial"] for r in report["rows"]} == selected
    assert all(len(r["seeds"]) == 2 and r["accuracy"] == pytest.approx(sum(r["seed_accuracies"]) / 2)
               for r in report["rows"])
    assert [(e.trial, e.seed, e.created_at) for e in store.evaluations("x", budget="full")] == \
           [(e.trial, e.seed, e.created_at) for e in evals]

    pareto = _run("pareto", "x", "--budget", "full", "--db", db, "--format", "json")
    assert pareto.returncode == 0, pareto.stderr
    rows = json.loads(pareto.stdout)
    assert rows and {r["trial"] for r in rows} <= selected
    assert all(r["budget"] == "full" and r["n_evals"] == 2 for r in rows)


def _seeded_search(db: str, tmp_path, name: str = "api") -> None:
    """A search written through the store API: the tiny space, its three uniform points with one
    proxy evaluation each (as `launch` would record them), no Ray needed."""
    from octsearch.spaces import load_space

    space = load_space(_space(tmp_path))
    store = open_store(db)
    store.create_search(SearchSpec(name=name, space_text=space.text, model_name=space.model_name,
                                   model_args=dict(space.model_args), reference_accuracy=0.1,
                                   reference_flops=space.flops(space.configuration(0.0))))
    for i, c in enumerate(space.uniform_configurations()):
        n = store.start_trial(name, space.with_cost(c))
        store.record_evaluation(name, n, seed=0, accuracy=0.5 + 0.1 * i, n_val=80)
    store.close()


def test_bad_input_is_one_line_exit_2_and_writes_nothing(tmp_path):
    db = _db(tmp_path)
    _seeded_search(db, tmp_path)
    before = (tmp_path / "results.db").read_bytes()
    cases = [
        (["nope"], "unknown search 'nope'; choose one of: api"),
        (["api", "--seeds", "0"], "--seeds 0 is not accepted"),
        (["api", "--top", "0"], "--top 0 is not accepted"),
        (["api", "--budget", "proxy"], "--budget 'proxy' is not accepted; use full, or a number of epochs"),
        (["api", "--budget", "-2"], "--budget '-2' is not accepted"),
        (["api", "--address", "127.0.0.1:1"], "cannot reach a Ray cluster at 127.0.0.1:1"),
    ]
    for extra, expected in cases:
        proc = _run("revalidate", *extra, "--db", db, timeout=120)
        assert proc.returncode == 2, proc.stderr + proc.stdout
        assert expected in proc.stderr and proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
        assert (tmp_path / "results.db").read_bytes() == before, "nothing may be written"
    missing = _run("revalidate", "api", "--db", f"sqlite:///{tmp_path / 'none.db'}", timeout=120)
    assert missing.returncode == 2 and not (tmp_path / "none.db").exists()


@pytest.mark.slow
def test_ctrl_c_keeps_finished_results_and_a_rerun_continues_without_repeats(tmp_path):
    db = _db(tmp_path)
    _seeded_search(db, tmp_path)
    log = tmp_path / "run.log"
    proc = subprocess.Popen(octsearch_cmd("revalidate", "api", "--seeds", "4", "--budget", "3", "--db", db),
                            stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True, env=_env())
    store = open_store(db)
    try:
        wait_for(lambda: "epochs=3" in store.budgets("api"), 180, "a first stored result")
        proc.send_signal(signal.SIGINT)  # the driver only, as a terminal's Ctrl-C reaches it
        assert proc.wait(timeout=90) == 130, log.read_text()
    finally:
        end_group(proc)
    text = log.read_text()
    assert "interrupted:" in text and "the same command continues" in text and "Traceback" not in text
    evals = store.evaluations("api", budget="epochs=3")
    assert 1 <= len(evals) < 12
    assert all(len(e.epoch_accuracies) == 3 for e in evals)
    pairs = [(e.trial, e.seed) for e in evals]
    assert len(pairs) == len(set(pairs))
    # the plan of a rerun is what is missing, nothing more (checked without training it)
    from octsearch.validate.run import RevalidateOptions, prepare

    store2, _, plan = prepare(RevalidateOptions("api", budget="3", seeds=4, db=db))
    store2.close()
    assert plan.stored == len(evals) and len(plan.jobs) == 12 - len(evals)
    assert not {(j.trial, j.seed) for j in plan.jobs} & set(pairs)
    assert all(j.label == "epochs=3" and j.epochs == 3 for j in plan.jobs)
