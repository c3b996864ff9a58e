"""``octsearch dashboard`` in a real browser: headless Chromium (Debian's ``chromium`` and
``chromium-driver``, through Selenium) opens the dashboard of a finished small search (a real
launch on a local Ray) and sees its trials and the Pareto-front plot; a screenshot is kept in
``build/test-artifacts/`` (or ``$OCTSEARCH_TEST_ARTIFACTS``). Bad input: one line, exit code 2,
nothing written. With ``CI`` set a missing browser fails the test instead of skipping it."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import optuna
import pytest
from search_helpers import end_group, octsearch_cmd, run_cli, wait_for, write_space

ARTIFACTS = Path(os.environ.get("OCTSEARCH_TEST_ARTIFACTS", Path(__file__).resolve().parents[2] / "build" / "test-artifacts"))


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """(database URL, study trial count) of a finished three-trial search."""
    folder = tmp_path_factory.mktemp("dash")
    db = f"sqlite:///{folder / 'dash.db'}"
    proc = run_cli("launch", str(write_space(folder, epochs=1)), "--name", "dash", "--trials", "3", "--repeats", "0",
                   "--db", db, "--results-dir", str(folder / "tune"), timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    from octsearch.search.study import open_storage
    from octsearch.store import open_store

    with open_store(db) as store:
        study = optuna.load_study(study_name="octsearch:dash", storage=open_storage(store, writer=False))
        assert len(store.trials("dash", "complete")) == 3
    return db, len(study.trials)


def _browser():
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if chromium is None or driver is None:
        message = "headless Chromium needs Debian's chromium and chromium-driver (.ci/run installs them)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1000"):
        options.add_argument(arg)
    options.binary_location = chromium
    return webdriver.Chrome(service=Service(driver), options=options)


def _serve(db, log: Path):
    """Start `octsearch dashboard dash` on a free port; (process, the study's URL)."""
    proc = subprocess.Popen(octsearch_cmd("dashboard", "dash", "--db", db, "--port", "0"), stdout=log.open("w"),
                            stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        words = [w for w in log.read_text().split() if w.startswith("http://")]
        if words:
            return proc, words[0]
        assert proc.poll() is None, log.read_text()
        time.sleep(0.5)
    end_group(proc)
    raise AssertionError(f"the dashboard printed no URL: {log.read_text()}")


@pytest.mark.slow
def test_headless_chromium_shows_the_trials_and_the_pareto_front(finished, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    db, n_trials = finished
    browser = _browser()  # first: a missing Chromium then leaves no dashboard server running
    try:
        proc, url = _serve(db, tmp_path / "dashboard.log")
    except BaseException:
        browser.quit()
        raise
    try:
        browser.get(f"{url}/trials")
        WebDriverWait(browser, 60).until(lambda b: f"{n_trials} Trials" in b.find_element(By.TAG_NAME, "body").text)
        browser.get(url)
        points = ".js-plotly-plot .scatterlayer .point"
        WebDriverWait(browser, 60).until(lambda b: "Pareto Front" in b.find_element(By.TAG_NAME, "body").text
                                         and b.find_elements(By.CSS_SELECTOR, points))
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        assert browser.save_screenshot(str(ARTIFACTS / "dashboard-pareto-front.png"))
        assert len(browser.find_elements(By.CSS_SELECTOR, points)) >= 3  # the trained trials at least
    finally:
        browser.quit()
        end_group(proc)


def test_bad_input_is_one_line_exit_2_and_writes_nothing(tmp_path, pg_available):
    missing = tmp_path / "none" / "x.db"
    for args, says in [
        (("dashboard", "nope", "--db", f"sqlite:///{missing}"), "no octsearch database at"),
        (("dashboard", "nope", "--db", "postgresql://nobody@127.0.0.1:1/none"), "cannot open store"),
        (("dashboard", "x", "--db", "sqlite:///" + str(tmp_path / "x.db"), "--port", "70000"), "--port 70000"),
    ]:
        proc = run_cli(*args, timeout=120)
        assert proc.returncode == 2 and proc.stdout == "", proc.stderr
        assert proc.stderr.count("\n") == 1 and says in proc.stderr, proc.stderr
    assert not missing.parent.exists() and not (tmp_path / "x.db").exists()


def _counts(engine) -> dict[str, int]:
    from sqlalchemy import inspect

    with engine.connect() as conn:
        return {t: conn.exec_driver_sql(f"SELECT COUNT(*) FROM {t}").scalar() for t in inspect(conn).get_table_names()}


def test_an_unknown_search_and_a_foreign_study_are_refused(tmp_path):
    from octsearch.store import open_store
    from octsearch.store.urls import make_engine, resolve_url

    db = f"sqlite:///{tmp_path / 's.db'}"
    open_store(db).close()
    storage = optuna.storages.RDBStorage(db)
    optuna.create_study(storage=storage, study_name="octsearch:theirs")
    engine = make_engine(resolve_url(db))
    before = _counts(engine)
    proc = run_cli("dashboard", "nope", "--db", db, timeout=120)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "unknown search 'nope'" in proc.stderr
    with open_store(db) as store:  # a search octsearch made, whose study's name someone else took
        from octsearch.store import SearchSpec

        store.create_search(SearchSpec(name="theirs", space_text="x", model_name="oct_resnet20",
                                       model_args={"num_classes": 10}, reference_accuracy=0.1, reference_flops=1))
    before["octsearch_searches"] += 1
    proc = run_cli("dashboard", "theirs", "--db", db, timeout=120)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
    assert "holds an Optuna study 'octsearch:theirs' that octsearch did not create" in proc.stderr
    assert _counts(engine) == before
    engine.dispose()


@pytest.mark.slow
def test_the_dashboard_shows_new_trials_of_a_running_search(finished, tmp_path):
    """The dashboard reads the database again after a couple of seconds: a trial told to the
    study after it started is served (its API is what the page polls)."""
    import json
    import urllib.request

    from octsearch.search.study import open_storage
    from octsearch.store import open_store

    db, n_trials = finished
    copy = tmp_path / "live.db"
    shutil.copy(db.removeprefix("sqlite:///"), copy)
    url = f"sqlite:///{copy}"
    proc, page = _serve(url, tmp_path / "dashboard.log")
    api = page.replace("/dashboard/studies/", "/api/studies/")
    try:
        def served() -> int:
            with urllib.request.urlopen(api, timeout=30) as response:
                return len(json.load(response)["trials"])

        assert served() == n_trials
        with open_store(url) as store:  # as the driver tells the sampler's study
            study = optuna.load_study(study_name="octsearch:dash", storage=open_storage(store))
            trial = study.ask()
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
        wait_for(lambda: served() == n_trials + 1, 60, "the new trial on the dashboard")  # it caches for 2 s
    finally:
        end_group(proc)
