"""`octsearch calibrate` for real: a pilot of a tiny digits space on a local Ray, interrupted and
resumed, its report checked against scipy on the stored evaluations, its budget written to a file."""

from __future__ import annotations

import json
import math
import signal
import statistics

import pytest
from scipy.stats import chi2, kendalltau
from search_helpers import end_group, run_cli, start_cli, wait_for

from octsearch.calibrate.design import pilot_configurations
from octsearch.spaces import load_space
from octsearch.store import open_store

SPACE = """\
# a tiny space for the calibration tests (this comment must survive --write)
model: {name: oct_resnet20, args: {width_mult: 0.5}}
data:
  name: digits
  seed: 0
  val_fraction: 0.25    # 300 training and 100 validation images
  limit: 400
  image_size: 16
  options: {resize: pad}
search:
  grid: [0, 0.25, 0.5]
  params:
    stage1.out: {slots: [stage1.out]}
    stage1.inner: {slots: ["stage1.block*.inner"]}
    stage2.out: {slots: [stage2.out]}
    stage2.inner: {slots: ["stage2.block*.inner", "stage3.*"]}
budget:
  epochs: 2             # two passes (this comment too)
  batch_size: 16
  optimizer: {name: sgd, lr: 0.05}
  seed: 0
  threads: 1
sampler: {name: random, trials: 20, concurrency: 2}
"""
RUNGS = ("--rung", "", "--rung", "ema=0.9,val=150")
LABELS = ("epochs=2,train=300,val=100,ema=0", "epochs=2,train=300,val=150,ema=0.9")
SEEDS = 2


@pytest.fixture(scope="module")
def pilot(tmp_path_factory):
    """(space file, store URL, folder) of a pilot interrupted after a few runs, then resumed."""
    folder = tmp_path_factory.mktemp("calibrate")
    path = folder / "tiny.yaml"
    path.write_text(SPACE)
    global CONFIGURATIONS  # the 3 uniform points and an orthogonal array of 9 rows (4 parameters x 3 alphas)
    CONFIGURATIONS = len(pilot_configurations(load_space(path))[0])
    db = f"sqlite:///{folder / 'store.db'}"
    proc = start_cli("calibrate", str(path), *RUNGS, "--db", db, log=folder / "first.log")
    try:
        wait_for(lambda: _count(db) >= 4, 300, "four stored evaluations")
        proc.send_signal(signal.SIGINT)  # the first Ctrl-C: finish cleanly, keep what is stored
        assert proc.wait(timeout=120) == 130, (folder / "first.log").read_text()
    finally:
        end_group(proc)
    first = _count(db)
    assert first < CONFIGURATIONS * SEEDS * len(LABELS)
    with open_store(db) as store:
        assert store.get_search("calibrate-tiny").status == "interrupted"
    resumed = run_cli("calibrate", str(path), *RUNGS, "--db", db, "--json", str(folder / "r.json"), timeout=600)
    assert resumed.returncode == 0, resumed.stderr + resumed.stdout
    assert f"{first} run(s) stored, {CONFIGURATIONS * SEEDS * len(LABELS) - first} to train" in resumed.stdout
    return path, db, folder, resumed


def _count(db: str) -> int:
    try:
        with open_store(db, create=False, upgrade=False) as store:
            return len(store.evaluations("calibrate-tiny"))
    except Exception:  # noqa: BLE001 (not created yet)
        return 0


@pytest.mark.slow
def test_an_interrupted_pilot_resumes_and_stores_every_run_once_under_its_rungs_label(pilot):
    path, db, _, _ = pilot
    with open_store(db) as store:
        record = store.get_search("calibrate-tiny")
        runs = sorted((e.budget, e.trial, e.seed) for e in store.evaluations("calibrate-tiny"))
        trials = store.trials("calibrate-tiny")
    assert (record.kind, record.status) == ("table", "finished")
    assert len(trials) == CONFIGURATIONS
    assert runs == sorted((label, n, s) for label in LABELS for n in range(CONFIGURATIONS) for s in range(SEEDS))
    again = run_cli("calibrate", str(path), *RUNGS, "--db", db, timeout=300)
    assert again.returncode == 0 and "0 to train" in again.stdout  # nothing trained twice


@pytest.mark.slow
def test_the_report_figures_are_scipys_and_the_models_on_the_stored_pilot(pilot):
    _, db, folder, resumed = pilot
    report = json.loads((folder / "r.json").read_text())
    assert report["trials"] == 20 and report["target"] == 0.5 and [r["label"] for r in report["rungs"]] == list(LABELS)
    with open_store(db) as store:
        for figures in report["rungs"]:
            runs = store.evaluations("calibrate-tiny", budget=figures["label"])
            by_trial: dict[int, dict[int, float]] = {}
            for e in runs:
                by_trial.setdefault(e.trial, {})[e.seed] = 100 * e.accuracy
            # seed SD: pooled within configurations (2 seeds each: the mean of the sample variances)
            pooled = math.sqrt(statistics.fmean(statistics.variance(s.values()) for s in by_trial.values()))
            assert figures["seed_sd"] == pytest.approx(pooled)
            df = len(by_trial)  # one degree of freedom a configuration (two seeds)
            assert figures["seed_sd_ci"] == pytest.approx([pooled * math.sqrt(df / chi2.ppf(0.975, df)),
                                                           pooled * math.sqrt(df / chi2.ppf(0.025, df))])
            tau = kendalltau([s[0] for s in by_trial.values()], [s[1] for s in by_trial.values()]).statistic
            if math.isnan(tau):  # one seed at one accuracy everywhere: no ranking to compare
                assert figures["tau"] is None and figures["tau_pairs"] == 0
            else:
                assert figures["tau"] == pytest.approx(tau) and figures["tau_pairs"] == 1
            assert figures["seconds"] == pytest.approx(statistics.fmean(e.train_seconds for e in runs))
            assert figures["se_search"] == pytest.approx(pooled * report["unit_se"])
            assert figures["resolves"] == pytest.approx(2 * figures["se_search"])
    assert "points of validation accuracy" in resumed.stdout and "s/trial" in resumed.stdout
    assert report["recommendation"].splitlines()[0] in resumed.stdout


@pytest.mark.slow
def test_write_puts_the_recommended_rung_into_a_copy_that_loads_with_its_comments(pilot):
    path, db, folder, _ = pilot
    out = folder / "calibrated.yaml"
    proc = run_cli("calibrate", str(path), *RUNGS, "--db", db, "--target", "99", "--trials", "100", "--write", str(out), timeout=300)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    recommended = next(line for line in proc.stdout.splitlines() if line.startswith("recommended: "))
    label = recommended.split()[1].rstrip(",")
    assert label in LABELS
    written = load_space(out)
    epochs, ema = int(label.split(",")[0].split("=")[1]), float(label.split("ema=")[1])
    assert (written.budget().epochs, written.budget().ema) == (epochs, ema)
    text = out.read_text()
    assert "# a tiny space for the calibration tests (this comment must survive --write)" in text
    assert "# two passes (this comment too)" in text and f"# calibrated: {label}: a search of 100 trials" in text
    assert "measured by: octsearch calibrate" in text
    assert "val_fraction: 0.25    # 300 training" in text or "val_fraction: 0.333333    # 300 training" in text
    if "val=150" in label:
        assert (written.data.load().num_train, written.data.load().num_val) == (300, 150)
    assert path.read_text() == SPACE  # the space itself untouched


@pytest.mark.slow
def test_write_with_nothing_resolving_writes_nothing_and_changes_nothing_stored(pilot):
    path, db, folder, _ = pilot
    out = folder / "never.yaml"
    with open_store(db) as store:
        before = sorted((e.budget, e.trial, e.seed, e.accuracy) for e in store.evaluations("calibrate-tiny"))
    proc = run_cli("calibrate", str(path), *RUNGS, "--db", db, "--target", "0.001", "--write", str(out), timeout=300)
    assert proc.returncode == 2 and "no rung resolves +/-0.001 points with 20 trials: nothing written" in proc.stderr
    assert not out.exists()
    with open_store(db) as store:
        after = sorted((e.budget, e.trial, e.seed, e.accuracy) for e in store.evaluations("calibrate-tiny"))
    assert after == before
