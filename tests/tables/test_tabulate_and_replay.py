"""Tables and replays, for real: `octsearch tabulate` trains every configuration of a tiny space on a
local Ray; `octsearch launch --replay` runs the search loop on the table in simulated time."""

from __future__ import annotations

import json

import pytest
from search_helpers import run_cli, write_space

from octsearch.store import open_store

SEEDS = 2
CONFIGURATIONS = 9  # the tiny space: 2 parameters x {0, .25, .5}


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    """(space file, store URL) of a table of the tiny space (2 epochs, so replays can stop early)."""
    folder = tmp_path_factory.mktemp("table")
    space = write_space(folder, name="tiny", epochs=2)
    db = f"sqlite:///{folder / 'tables.db'}"
    proc = run_cli("tabulate", str(space), "--name", "t9", "--seeds", str(SEEDS), "--db", db, timeout=600)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    assert f"{CONFIGURATIONS} configuration(s) x {SEEDS} seed(s)" in proc.stdout
    return space, db


def _replay(space, db, name, *extra, trials=8):
    return run_cli("launch", str(space), "--name", name, "--replay", "t9", "--trials", str(trials), "--db", db,
                   *extra, timeout=300)


def _stored(db, name):
    with open_store(db) as store:
        return [(t.number, t.status, dict(t.configuration.by_param), t.accuracy, t.n_evals) for t in store.trials(name)]


@pytest.mark.slow
def test_a_table_holds_every_configuration_at_every_seed_and_resumes(table):
    space, db = table
    with open_store(db) as store:
        record = store.get_search("t9")
        trials = store.trials("t9")
        evaluations = store.evaluations("t9")
    assert record.kind == "table" and record.status == "finished"
    assert len(trials) == CONFIGURATIONS and all(t.status == "complete" and t.n_evals == SEEDS for t in trials)
    assert sorted((e.trial, e.seed) for e in evaluations) == [(n, s) for n in range(CONFIGURATIONS) for s in range(SEEDS)]
    assert all(len(e.epoch_accuracies) == 2 and e.train_seconds > 0 for e in evaluations)
    again = run_cli("tabulate", str(space), "--name", "t9", "--seeds", str(SEEDS), "--db", db, timeout=300)
    assert again.returncode == 0 and "0 to train" in again.stdout  # resumable: nothing trained twice


@pytest.mark.slow
def test_a_replay_answers_from_the_table_is_stored_marked_and_reproducible(table):
    space, db = table
    first, again = _replay(space, db, "r1", "--seed", "5"), _replay(space, db, "r2", "--seed", "5")
    assert again.returncode == 0, again.stderr + again.stdout
    assert first.returncode == 0, first.stderr + first.stdout
    assert "simulated (replay of table 't9')" in first.stdout
    assert _stored(db, "r1") == _stored(db, "r2")  # the same seed replays the same search
    with open_store(db) as store:
        record = store.get_search("r1")
        table_runs = {(e.trial, e.seed): e.accuracy for e in store.evaluations("t9")}
        numbers = {t.configuration.key: t.number for t in store.trials("t9")}
        replayed = store.evaluations("r1")
        keys = {t.number: t.configuration.key for t in store.trials("r1")}
    assert (record.kind, record.source, record.status) == ("replay", "t9", "finished")
    # every replayed evaluation is one of the table's runs of that configuration, seed included
    assert replayed and all(table_runs[(numbers[keys[e.trial]], e.seed)] == e.accuracy for e in replayed)
    assert all(e.node == "replay of t9" for e in replayed)
    # marked as replayed wherever it is shown
    assert "(a replay of table 't9'" in run_cli("pareto", "r1", "--db", db).stdout
    assert "replay of t9" in run_cli("searches", "--db", db).stdout
    assert json.loads(run_cli("pareto", "r1", "--db", db, "--format", "json").stdout)[0]["replay_of"] == "t9"


@pytest.mark.slow
def test_a_replay_continues_where_it_stopped_and_stops_early_like_a_search(table):
    space, db = table
    assert _replay(space, db, "r3", trials=4).returncode == 0
    before = {t[0]: t for t in _stored(db, "r3")}
    proc = _replay(space, db, "r3", trials=7)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    after = {t[0]: t for t in _stored(db, "r3")}
    assert all(after[n][2] == b[2] for n, b in before.items())  # the same trials, the same configurations
    assert sum(t[1] in ("complete", "pruned", "infeasible") for t in after.values()) == 7
    early = _replay(space, db, "r4", "--early-stop", "--trials", "9", "--repeats", "0", trials=9)
    assert early.returncode == 0, early.stderr + early.stdout


@pytest.mark.slow
def test_a_replay_longer_than_the_space_stops_once_every_configuration_is_taken(table):
    import optuna

    from octsearch.search.searcher import MAX_SCREENED
    from octsearch.search.study import study_name

    space, db = table
    proc = _replay(space, db, "r5", "--repeats", "0", trials=30)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    assert "every configuration of the space (9) is evaluated" in proc.stderr
    stored = _stored(db, "r5")
    assert len(stored) == CONFIGURATIONS and all(t[1] == "complete" for t in stored)
    assert len({json.dumps(t[2], sort_keys=True) for t in stored}) == CONFIGURATIONS  # each one once
    # Draws of taken configurations, each one a trial told to the kept study, are bounded: at most
    # MAX_SCREENED per suggestion, then an untaken one at random; none once all are taken.
    told = optuna.load_study(study_name=study_name("r5"), storage=db).trials
    assert len(told) <= CONFIGURATIONS * (1 + MAX_SCREENED)


@pytest.mark.slow
def test_configurations_the_table_lacks_are_said_counted_and_the_search_goes_on(tmp_path):
    space = write_space(tmp_path, name="tiny", epochs=1)
    db = f"sqlite:///{tmp_path / 'sample.db'}"
    built = run_cli("tabulate", str(space), "--name", "s4", "--seeds", "1", "--sample", "4", "--db", db, timeout=600)
    assert built.returncode == 0, built.stderr + built.stdout
    proc = run_cli("launch", str(space), "--name", "r", "--replay", "s4", "--trials", "8", "--repeats", "0",
                   "--db", db, timeout=300)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    with open_store(db) as store:
        trials = store.trials("r")
    lacking = [t for t in trials if t.status == "failed"]
    assert lacking and all(t.error.startswith("not in table 's4'") for t in lacking)
    assert "failed" in proc.stdout and len(trials) > 4


def test_bad_input_is_one_line_exit_2_and_writes_nothing(tmp_path, table):
    space, db = table
    other = write_space(tmp_path, name="other", epochs=3)  # another space file: another hash
    big = tmp_path / "big.yaml"
    big.write_text(space.read_text().replace("grid: [0, 0.25, 0.5]\n  params:\n    stage1.out: {slots: [stage1.out]}\n"
                                             "    rest: {slots: [\"stage2.*\", \"stage1.block*.inner\"]}",
                                             "grid: [0, 0.125, 0.25, 0.5, 0.75]\n  per: slot"))
    fresh = f"sqlite:///{tmp_path / 'fresh.db'}"
    cases = [
        (["launch", str(other), "--name", "x", "--replay", "t9", "--db", db], "tabulates another space file"),
        (["launch", str(space), "--name", "x", "--replay", "t9", "--address", "127.0.0.1:1", "--db", db],
         "a replay runs no Ray"),
        (["launch", str(space), "--name", "x", "--replay", "nope", "--db", db], "unknown search 'nope'"),
        (["launch", str(space), "--name", "t9", "--db", db], "'t9' is a table, not a search"),
        (["tabulate", str(big), "--name", "b", "--db", fresh], "390,625 configurations are more than a table holds"),
        (["tabulate", str(big), "--name", "b", "--sample", "0", "--db", fresh], "--sample 0; accepted: 1 to 10,000"),
        (["tabulate", str(space), "--name", "b", "--seeds", "0", "--db", fresh], "--seeds 0; accepted: an integer >= 1"),
    ]
    before = json.dumps(_stored(db, "t9"))
    for args, expected in cases:
        proc = run_cli(*args, timeout=120)
        assert proc.returncode == 2, (args, proc.stderr)
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and expected in lines[0] and "Traceback" not in proc.stderr, (args, proc.stderr)
    assert json.dumps(_stored(db, "t9")) == before
    assert not (tmp_path / "fresh.db").exists()
    with open_store(db) as store:
        assert {s.name for s in store.list_searches()} <= {"t9", "r1", "r2", "r3", "r4", "r5"}
