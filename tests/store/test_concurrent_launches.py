"""Separate processes, one database: two ``octsearch launch`` processes (each with its own local
Ray) write two searches into one PostgreSQL database, and into one SQLite file, while a third
process reads both fronts; then two launches of one search name, where the second is refused.

Why refused rather than shared: each driver keeps its own record of what is in flight and its own
sampler; two of them on one search would train a configuration twice and interleave two samplers'
generations in one study. The driver holds its search (an advisory lock on PostgreSQL, a lock on
a file beside the SQLite database) for as long as it runs, so a killed driver frees it."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time

import pytest
from search_helpers import end_group, start_cli, wait_for, write_space

from octsearch.store import open_store

TRIALS = 3
READER = textwrap.dedent("""
    import json, sys, time
    from pathlib import Path
    from octsearch.store import open_store

    url, stop, out, names = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4:]

    def brute(trials):
        pts = [(t.number, t.accuracy, t.flops_paper) for t in trials if t.status == "complete"]
        return {n for n, a, f in pts if not any(b >= a and g <= f and (b, g) != (a, f) for _, b, g in pts)}

    reads, checked, mismatches, errors = 0, 0, [], []
    with open_store(url, upgrade=False) as store:
        while not stop.exists():
            for name in names:
                try:
                    before = store.trials(name)
                    front = {t.number for t in store.front(name)}
                    store.hypervolume(name)
                    after = store.trials(name)
                except Exception as e:  # an unknown name before the search registers is fine
                    if "unknown search" not in str(e):
                        errors.append(f"{type(e).__name__}: {e}")
                    continue
                reads += 1
                if before == after:  # the same snapshot on both sides: the front must match it
                    checked += 1
                    if front != brute(after):
                        mismatches.append((name, sorted(front), sorted(brute(after))))
            time.sleep(0.2)
    out.write_text(json.dumps({"reads": reads, "checked": checked, "mismatches": mismatches, "errors": errors}))
""")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'shared.db'}"
    return request.getfixturevalue("pg_url")


def _launch(tmp_path, space, url, name, log):
    return start_cli("launch", str(space), "--name", name, "--trials", str(TRIALS), "--concurrency", "1",
                     "--repeats", "0", "--db", url, "--results-dir", str(tmp_path / f"tune-{log}"),
                     log=tmp_path / f"{log}.log")


def _brute(trials):
    pts = [(t.number, t.accuracy, t.flops_paper) for t in trials if t.status == "complete"]
    return {n for n, a, f in pts if not any(b >= a and g <= f and (b, g) != (a, f) for _, b, g in pts)}


def _finish(procs, timeout=900):
    deadline = time.monotonic() + timeout
    try:
        for proc in procs:
            proc.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        for proc in procs:
            end_group(proc)
    return [proc.returncode for proc in procs]


@pytest.mark.slow
def test_two_launches_write_two_searches_into_one_database_while_a_third_process_reads(tmp_path, url):
    space = write_space(tmp_path, epochs=1)
    open_store(url).close()  # the schema exists before the reader starts
    stop, out = tmp_path / "stop", tmp_path / "reads.json"
    reader = subprocess.Popen([sys.executable, "-c", READER, url, str(stop), str(out), "a", "b"])
    launches = [_launch(tmp_path, space, url, "a", "a"), _launch(tmp_path, space, url, "b", "b")]
    codes = _finish(launches)
    stop.touch()
    reader.wait(timeout=120)
    logs = {n: (tmp_path / f"{n}.log").read_text() for n in "ab"}
    assert codes == [0, 0], logs
    for text in logs.values():
        assert "database is locked" not in text and "Traceback" not in text, text
    reads = json.loads(out.read_text())
    assert reader.returncode == 0 and reads["errors"] == [] and reads["mismatches"] == [], reads
    assert reads["checked"] > 0, reads
    with open_store(url) as store:
        for name in "ab":
            trials = store.trials(name)
            assert len(trials) == TRIALS and all(t.status == "complete" for t in trials)
            assert {t.number for t in store.front(name)} == _brute(trials)
    _studies_hold_every_trial(url, "ab")


def _studies_hold_every_trial(url, names):
    import optuna

    from octsearch.search.study import open_storage, study_name

    with open_store(url) as store:
        storage = open_storage(store, writer=False)
        for name in names:
            study = optuna.load_study(study_name=study_name(name), storage=storage)
            trained = [t for t in study.trials if t.user_attrs.get("outcome") == "trained"]
            assert len(trained) == TRIALS, name
            evaluations = optuna.load_study(study_name=study_name(name, "evaluations"), storage=storage)
            assert len(evaluations.trials) == TRIALS, name


@pytest.mark.slow
def test_a_second_launch_of_a_running_search_is_refused_with_one_line(tmp_path, url):
    space = write_space(tmp_path, epochs=1)
    first = _launch(tmp_path, space, url, "same", "first")
    try:
        wait_for(lambda: "trial(s) to run" in (tmp_path / "first.log").read_text(), 300, "the first launch to start")
        with open_store(url) as store:
            before = store.trials("same")
        second = subprocess.run(
            [sys.executable, "-m", "octsearch.cli.main", "launch", str(space), "--name", "same", "--trials",
             str(TRIALS), "--db", url], capture_output=True, text=True, timeout=300)
        assert second.returncode == 2 and second.stdout == "", second.stdout + second.stderr
        assert second.stderr.count("\n") == 1, second.stderr
        assert "search 'same' is being run by another octsearch launch" in second.stderr
        with open_store(url) as store:  # the refused launch reconciled nothing, wrote nothing
            after = store.trials("same")
        assert [t.number for t in after][:len(before)] == [t.number for t in before]
        assert not [t for t in after if t.status == "failed"]
        assert _finish([first]) == [0], (tmp_path / "first.log").read_text()
    finally:
        end_group(first)
    with open_store(url) as store:
        assert len(store.trials("same", "complete")) == TRIALS
