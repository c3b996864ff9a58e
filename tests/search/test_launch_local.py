"""End-to-end searches on a local Ray (real training, real fvcore counts, SQLite store)."""

from __future__ import annotations

import os
import signal
import subprocess

from search_helpers import end_group, octsearch_cmd, run_cli, start_cli, wait_for, write_space

from octsearch.store import open_store


def _db(folder) -> str:
    return f"sqlite:///{folder / 'results.db'}"


def test_launch_runs_uniform_points_first_and_records_every_trial(tmp_path):
    space = write_space(tmp_path)
    proc = run_cli("launch", str(space), "--name", "s1", "--trials", "5", "--db", _db(tmp_path),
                   "--results-dir", str(tmp_path / "tune"))
    assert proc.returncode == 0, proc.stderr + proc.stdout
    # one progress line per change, the front at the end; none of Ray's own tables
    assert "trials 5/5" in proc.stdout and "on the front" in proc.stdout
    assert "╭" not in proc.stdout and "Trial status" not in proc.stdout
    store = open_store(_db(tmp_path))
    trials = store.trials("s1")
    assert len(trials) == 5 and all(t.status == "complete" for t in trials)
    uniform = sorted(t.uniform_alpha for t in trials if t.is_uniform)
    assert uniform == [0.0, 0.25, 0.5]  # the uniform-alpha curve is evaluated first
    assert {t.number for t in trials if t.is_uniform} == {0, 1, 2}
    assert all(t.node and t.train_seconds > 0 and 0 <= t.accuracy <= 1 for t in trials)
    assert all(t.flops_paper > 0 and t.flops_all > t.flops_paper and t.param_count > 0 for t in trials)
    assert len({tuple(sorted(t.configuration.by_param.items())) for t in trials}) == 5  # no configuration twice
    assert store.get_search("s1").status == "finished"
    front = store.front("s1")
    assert front and all(t.status == "complete" for t in front)


def test_resume_after_sigkill_leaves_nothing_running_and_repeats_nothing(tmp_path):
    space = write_space(tmp_path, epochs=3)
    db = _db(tmp_path)
    args = ("launch", str(space), "--name", "k1", "--trials", "7", "--db", db, "--results-dir", str(tmp_path / "tune"))
    proc = start_cli(*args, log=tmp_path / "first.log")
    try:
        wait_for(lambda: _complete(db, "k1") >= 2, 240, "two complete trials")
        proc.send_signal(signal.SIGKILL)  # the driver only, mid-search
        proc.wait(timeout=30)
    finally:
        end_group(proc)
    before = {t.number: t for t in open_store(db).trials("k1")}
    second = run_cli(*args)
    assert second.returncode == 0, second.stderr + second.stdout
    store = open_store(db)
    trials = store.trials("k1")
    assert not [t for t in trials if t.status == "running"]
    assert len([t for t in trials if t.status == "complete"]) == 7
    assert all(t.error.startswith("interrupted") for t in trials if t.status == "failed")
    # every trial complete before the kill is still there, unchanged, and was not trained again
    for number, t in before.items():
        if t.status == "complete":
            again = store.trial("k1", number)
            assert again.accuracy == t.accuracy and again.n_evals == 1
    keys = [tuple(sorted(t.configuration.by_param.items())) for t in trials]
    assert len(keys) == len(set(keys))
    for t in trials:
        seeds = [e.seed for e in store.evaluations("k1", number=t.number)]
        assert len(seeds) == len(set(seeds))


def test_ctrl_c_stops_cleanly(tmp_path):
    space = write_space(tmp_path, epochs=3)
    db = _db(tmp_path)
    proc = start_cli("launch", str(space), "--name", "c1", "--trials", "9", "--db", db,
                     "--results-dir", str(tmp_path / "tune"), log=tmp_path / "run.log")
    try:
        wait_for(lambda: _complete(db, "c1") >= 1, 240, "one complete trial")
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=120) == 130, (tmp_path / "run.log").read_text()
    finally:
        end_group(proc)
    store = open_store(db)
    assert store.get_search("c1").status == "interrupted"
    trials = store.trials("c1")
    assert not [t for t in trials if t.status == "running"]
    assert len([t for t in trials if t.status == "complete"]) >= 1
    assert len(trials) < 9


def test_flops_budget_trains_nothing_over_it_and_early_stop_prunes_off_the_front(tmp_path):
    # the alpha-0 network costs about 7.8 MFLOPs (conv+fc): a budget of 6.2 rules out part of the grid
    space = write_space(tmp_path, name="budget", epochs=3, flops_budget="0.0062")
    db = _db(tmp_path)
    proc = run_cli("launch", str(space), "--name", "b1", "--trials", "8", "--early-stop", "--db", db,
                   "--results-dir", str(tmp_path / "tune"))
    assert proc.returncode == 0, proc.stderr + proc.stdout
    store = open_store(db)
    trials = store.trials("b1")
    infeasible = [t for t in trials if t.status == "infeasible"]
    assert infeasible, "the uniform alpha-0 point is over the budget and must be recorded infeasible"
    for t in infeasible:
        assert t.flops_paper > 6.2e6 and not store.evaluations("b1", number=t.number)
    for t in trials:
        if t.status == "complete":
            assert t.flops_paper <= 6.2e6
    front = {t.number for t in store.front("b1")}
    pruned = [t for t in trials if t.status == "pruned"]
    # the status says why: no sentence is stored for a pruned or an infeasible trial
    assert all(t.number not in front and t.error is None for t in pruned)
    assert all(t.error is None for t in infeasible)


def test_bad_input_is_one_line_before_anything_starts(tmp_path):
    space = write_space(tmp_path)
    db_file = tmp_path / "results.db"
    cases = [
        (["--sampler", "annealing"], "unknown sampler 'annealing'; choose one of:"),
        (["--address", "127.0.0.1:1"], "cannot reach a Ray cluster at 127.0.0.1:1"),
        (["--trials", "0"], "--trials=0"),
    ]
    for extra, expected in cases:
        proc = run_cli("launch", str(space), "--name", "x", "--db", _db(tmp_path), *extra, timeout=120)
        assert proc.returncode == 2, proc.stderr
        assert expected in proc.stderr and proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
        assert not db_file.exists(), "nothing may be written"
    broken = tmp_path / "broken.yaml"
    broken.write_text(space.read_text().replace("epochs: 2", "epochs: 0"))
    proc = run_cli("launch", str(broken), "--name", "x", "--db", _db(tmp_path), timeout=120)
    assert proc.returncode == 2 and "broken.yaml" in proc.stderr and "epochs" in proc.stderr
    assert not db_file.exists()


def test_onnxruntime_latency_without_onnxruntime_is_refused_before_anything_starts(tmp_path):
    space = write_space(tmp_path, latency=True)
    space.write_text(space.read_text().replace("latency: true", "latency: true, latency_path: fast+onnxruntime"))
    # a package shadowing onnxruntime that fails to import, as on a machine without it
    blocked = tmp_path / "blocked"
    (blocked / "onnxruntime").mkdir(parents=True)
    (blocked / "onnxruntime" / "__init__.py").write_text("raise ImportError('No module named onnxruntime')\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(blocked), os.environ.get("PYTHONPATH")]))}
    proc = subprocess.run(octsearch_cmd("launch", str(space), "--name", "x", "--db", _db(tmp_path)),
                          capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 2, proc.stderr
    assert "latency_path fast+onnxruntime needs onnx" in proc.stderr and "octsearch[onnx]" in proc.stderr
    assert proc.stderr.count("\n") == 1 and not (tmp_path / "results.db").exists()


def test_existing_name_with_another_space_is_refused(tmp_path):
    space = write_space(tmp_path)
    store = open_store(_db(tmp_path))
    from octsearch.store import SearchSpec

    store.create_search(SearchSpec(name="taken", space_text="other: text", model_name="oct_resnet20",
                                   model_args={}, reference_accuracy=0.1, reference_flops=1))
    proc = run_cli("launch", str(space), "--name", "taken", "--db", _db(tmp_path), timeout=120)
    assert proc.returncode == 2 and "exists with another space file" in proc.stderr
    assert store.trials("taken") == [] and store.get_search("taken").space_text == "other: text"


def _complete(db: str, name: str) -> int:
    try:
        return len(open_store(db).trials(name, status="complete"))
    except Exception:  # noqa: BLE001 (not created yet)
        return 0




def test_repeats_evaluate_front_candidates_with_new_seeds_and_latency_is_an_objective(tmp_path):
    space = write_space(tmp_path, latency=True)
    db = _db(tmp_path)
    proc = run_cli("launch", str(space), "--name", "rep", "--trials", "7", "--repeats", "1", "--db", db,
                   "--results-dir", str(tmp_path / "tune"))
    assert proc.returncode == 0, proc.stderr + proc.stdout
    assert "repeat seeds" in proc.stdout
    store = open_store(db)
    repeated = [t for t in store.trials("rep") if t.n_evals == 2]
    assert repeated, "a front candidate must have been evaluated with a second seed"
    for t in repeated:
        evals = store.evaluations("rep", number=t.number)
        assert sorted(e.seed for e in evals) == [0, 1]
        assert abs(t.accuracy - sum(e.accuracy for e in evals) / 2) < 1e-12  # the front uses the mean
    total_evals = sum(len(store.evaluations("rep", number=t.number)) for t in store.trials("rep"))
    assert total_evals == 7  # repeats count against the trial budget
    # measured latency is a third objective, stored per trial and shown by pareto
    assert store.get_search("rep").objectives == ("accuracy", "flops_paper", "latency_ms")
    assert all(t.latency_ms > 0 for t in store.trials("rep", status="complete"))
    assert "latency ms (batch 1, fast path)" in proc.stdout


def test_seed_from_evaluates_another_searchs_front_first(tmp_path):
    space = write_space(tmp_path)
    db = _db(tmp_path)
    common = ("--db", db, "--results-dir", str(tmp_path / "tune"), "--sampler", "random", "--seed", "3")
    first = run_cli("launch", str(space), "--name", "donor", "--trials", "4", *common)
    assert first.returncode == 0, first.stderr
    store = open_store(db)
    donor_front = {tuple(sorted(t.configuration.by_param.items())) for t in store.front("donor")}
    second = run_cli("launch", str(space), "--name", "heir", "--trials", "5", "--seed-from", "donor", *common)
    assert second.returncode == 0, second.stderr
    heir = {tuple(sorted(t.configuration.by_param.items())) for t in store.trials("heir")}
    assert donor_front <= heir  # the donor's front was evaluated in the new search
    proc = run_cli("launch", str(space), "--name", "x", "--seed-from", "nobody", "--db", db, timeout=120)
    assert proc.returncode == 2 and "nobody" in proc.stderr and "donor" in proc.stderr
