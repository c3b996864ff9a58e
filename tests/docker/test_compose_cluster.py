"""docker/ run for real: build the image, bring up the compose cluster (PostgreSQL, a Ray head, 2
Ray workers), search through the `search` service into the compose PostgreSQL, read the front
from the host, and kill a worker container in the middle of a search.

Needs a Docker daemon and Compose v2: `.ci/run` installs and starts them. Elsewhere the tests skip
without them; with ``CI`` set they fail instead. The image is built by docker/build-local.sh (no
image registry needed) unless the official base image is here or can be pulled
(``OCTSEARCH_TEST_DOCKER_BUILD=local|registry`` decides); Docker's layer cache makes a rebuild
of an unchanged tree take seconds. Every container, network and volume of the test's compose
project is removed afterwards; the images stay, as build cache.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from docker_helpers import ComposeProject, build_images, docker, docker_problem
from search_helpers import TINY_SPACE

import octsearch
from octsearch.errors import UnknownNameError
from octsearch.store import TrialRecord, open_store

pytestmark = [pytest.mark.docker, pytest.mark.slow]

IMAGE = f"octsearch:{octsearch.__version__}"
HEAD = "ray-head:6379"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def docker_ready() -> None:
    problem = docker_problem()
    if problem is not None:
        if os.environ.get("CI"):
            pytest.fail(f"the Docker tests must run in CI: {problem} (.ci/run starts dockerd)")
        pytest.skip(problem)


@dataclass(frozen=True)
class Cluster:
    compose: ComposeProject
    db_url: str  # the compose PostgreSQL as the host reaches it
    token: str
    image: str
    spaces: Path  # mounted at /spaces in the search container
    logs: Path

    def launch(self, name: str, space: str, *extra: str, env: dict[str, str] | None = None,
               deps: bool = True) -> list[str]:
        """`docker compose run` arguments of the search service running ``octsearch launch``."""
        options = ["run", "--rm", "-T", "-v", f"{self.spaces}:/spaces:ro"]
        options += [] if deps else ["--no-deps"]
        for key, value in (env or {}).items():
            options += ["-e", f"{key}={value}"]
        return [*options, "search", "octsearch", "launch", f"/spaces/{space}.yaml", "--name", name,
                "--address", HEAD, *extra]

    def trials(self, name: str) -> list[TrialRecord]:
        store = open_store(self.db_url)
        try:
            return store.trials(name)
        except UnknownNameError:
            return []
        finally:
            store.close()

    def search_names(self) -> set[str]:
        store = open_store(self.db_url)
        try:
            return {s.name for s in store.list_searches()}
        finally:
            store.close()


@pytest.fixture(scope="module")
def cluster(docker_ready: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    work = tmp_path_factory.mktemp("compose")
    spaces = work / "spaces"
    spaces.mkdir(mode=0o755)
    spaces.chmod(0o755)  # the search container runs as uid 1000
    # tiny-long: trials of several seconds, so that a worker is killed while its trial runs
    for name, epochs, limit in (("tiny", 1, 400), ("tiny-long", 4, 1200)):
        path = spaces / f"{name}.yaml"
        text = TINY_SPACE.format(epochs=epochs, flops_budget="null", latency="false")
        path.write_text(text.replace("limit: 400", f"limit: {limit}"))
        path.chmod(0o644)

    t = time.monotonic()
    mode, postgres_image = build_images(IMAGE, work / "build.log")
    size = int(docker("image", "inspect", "-f", "{{.Size}}", IMAGE).stdout)
    print(f"\nimage {IMAGE} ({mode} build): {time.monotonic() - t:.0f} s, {size / 1e9:.2f} GB")

    token, password, pg_port = secrets.token_hex(32), secrets.token_hex(8), _free_port()
    env_file = work / "compose.env"
    env_file.write_text("".join(f"{k}={v}\n" for k, v in {
        "RAY_AUTH_TOKEN": token, "POSTGRES_PASSWORD": password, "POSTGRES_HOST_PORT": pg_port,
        "RAY_DASHBOARD_HOST_PORT": _free_port(), "RAY_HEAD_CPUS": 0, "RAY_WORKER_CPUS": 1,
        "OCTSEARCH_IMAGE": IMAGE, "POSTGRES_IMAGE": postgres_image,
    }.items()))
    compose = ComposeProject(f"octsearch-test-{uuid.uuid4().hex[:8]}", env_file)
    try:
        t = time.monotonic()
        compose("up", "-d", "--scale", "ray-worker=2", "--wait", "--wait-timeout", "240", timeout=400)
        print(f"compose up (PostgreSQL, Ray head, 2 workers healthy): {time.monotonic() - t:.0f} s")
        yield Cluster(compose, f"postgresql://octsearch:{password}@127.0.0.1:{pg_port}/octsearch", token, IMAGE,
                      spaces, work)
    finally:
        compose.down()
        left = compose.leftovers()
        assert not left, f"compose project {compose.name} left {left}"


def _refusal(run: subprocess.CompletedProcess[str]) -> str:
    """The last line the refusing service wrote."""
    lines = [line for line in (run.stderr + "\n" + run.stdout).splitlines() if line.strip()]
    return lines[-1] if lines else ""


# -- bad input --------------------------------------------------------------------------------


def test_compose_refuses_to_start_without_a_ray_token(docker_ready: None, tmp_path: Path) -> None:
    env_file = tmp_path / "no-token.env"
    env_file.write_text(f"POSTGRES_HOST_PORT={_free_port()}\n")
    compose = ComposeProject(f"octsearch-test-{uuid.uuid4().hex[:8]}", env_file)
    try:
        run = compose("up", "-d", "--no-build", check=False, timeout=120)
        line = _refusal(run)
        print(f"\nno RAY_AUTH_TOKEN: {line}")
        assert run.returncode != 0
        assert "RAY_AUTH_TOKEN" in line and "set RAY_AUTH_TOKEN in docker/.env" in line
        assert compose.leftovers() == {}  # refused before creating anything
    finally:
        compose.down()


# -- a search through the compose cluster ------------------------------------------------------


def test_search_through_compose_and_front_from_the_host(cluster: Cluster) -> None:
    t = time.monotonic()
    run = cluster.compose(*cluster.launch("compose-small", "tiny", "--trials", "4", "--concurrency", "2"), timeout=900)
    print(f"\nsearch of 4 trials through the search service: {time.monotonic() - t:.0f} s")
    assert "search 'compose-small' finished" in run.stdout, run.stdout[-3000:] + run.stderr[-3000:]
    trials = cluster.trials("compose-small")
    assert [t.status for t in trials] == ["complete"] * 4
    assert len({t.node for t in trials}) == 2, "both workers ran trials"  # the head has 0 CPUs

    pareto = subprocess.run([sys.executable, "-m", "octsearch.cli.main", "pareto", "compose-small", "--db",
                             cluster.db_url, "--format", "json"], capture_output=True, text=True, timeout=120)
    assert pareto.returncode == 0, pareto.stderr
    shown = sorted(row["trial"] for row in json.loads(pareto.stdout))
    assert shown == sorted(t.number for t in trials if t.on_front) and shown


def test_wrong_database_password_is_refused_before_anything_is_written(cluster: Cluster) -> None:
    wrong = f"postgresql://octsearch:not-{secrets.token_hex(4)}@postgres:5432/octsearch"
    run = cluster.compose(*cluster.launch("bad-password", "tiny", env={"OCTSEARCH_DB": wrong}, deps=False),
                          check=False, timeout=300)
    line = _refusal(run)
    postgres = [x for x in cluster.compose("logs", "--no-color", "postgres").stdout.splitlines()
                if "password authentication failed" in x]
    print(f"\nwrong password, search service: {line}\nwrong password, postgres service: {postgres[-1:]}")
    assert run.returncode == 2
    assert line.startswith("octsearch: error: cannot open store postgresql://octsearch:***@postgres:5432/octsearch")
    assert "password authentication failed" in line
    assert postgres, "PostgreSQL logged no refused password"
    assert "bad-password" not in cluster.search_names()


def test_worker_with_another_octsearch_version_is_refused(cluster: Cluster, tmp_path: Path) -> None:
    other = f"{cluster.compose.name}-other-version:latest"
    (tmp_path / "Dockerfile").write_text(
        f"FROM {cluster.image}\nUSER root\n"
        "RUN sed -i 's/^Version: .*/Version: 0.0.0+other/' /usr/local/lib/python3*/*-packages/octsearch-*.dist-info/METADATA\n"
        "USER 1000:1000\n")
    docker("build", "-q", "-t", other, str(tmp_path), timeout=300)
    container = f"{cluster.compose.name}-other-worker"
    try:
        # Zero CPUs: no trial of a later test is ever placed on it; the version check still asks it.
        docker("run", "-d", "--name", container, "--network", f"{cluster.compose.name}_default",
               "--label", f"com.docker.compose.project={cluster.compose.name}", "--shm-size", "512m",
               "-e", "RAY_AUTH_MODE=token", "-e", f"RAY_AUTH_TOKEN={cluster.token}", other,
               "ray", "start", f"--address={HEAD}", "--num-cpus=0", "--disable-usage-stats", "--block")
        deadline = time.monotonic() + 180
        while docker("exec", container, "octsearch-healthcheck", check=False).returncode != 0:
            assert time.monotonic() < deadline, docker("logs", container, check=False).stderr[-2000:]
            time.sleep(2)
        run = cluster.compose(*cluster.launch("bad-version", "tiny"), check=False, timeout=300)
        line = _refusal(run)
        print(f"\nworker of another version, search service: {line}")
        assert run.returncode == 1
        assert line.startswith("octsearch-cluster-check: the Ray node at ")
        assert "runs octsearch 0.0.0+other (this driver: " in line and line.endswith("no search started")
        assert "bad-version" not in cluster.search_names()
    finally:
        docker("rm", "-f", container, check=False)
        docker("rmi", "-f", other, check=False)


# -- a worker killed in the middle of a search: runs last, the cluster keeps one worker --------------


def _by_status(trials: list[TrialRecord], status: str) -> list[TrialRecord]:
    return [t for t in trials if t.status == status]


# A tiny-long trial runs about 10 s: one that started at most this long ago is still running
# when the kill lands.
FRESH_S = 3.0


def _worker_hostnames(cluster: Cluster) -> dict[str, str]:
    """Host name (what a trial's ``node`` starts with) -> container name, of every ray-worker."""
    ids = cluster.compose("ps", "-q", "ray-worker").stdout.split()
    assert len(ids) == 2, ids
    names = docker("inspect", "-f", "{{.Config.Hostname}} {{.Name}}", *ids).stdout.split("\n")
    return dict(line.strip().replace(" /", " ").split(" ", 1) for line in names if line.strip())


def _worker_running_a_fresh_trial(trials: list[TrialRecord], workers: dict[str, str]) -> tuple[str, int] | None:
    """(worker container, trial number) of a trial that started just now, else None.

    Which worker runs a trial is stored only when it ends. But every worker has one CPU for
    trials (the head and the search node none): with two trials running, the one that started
    right after a trial ended runs on the worker that trial ended on.
    """
    complete = sorted((t for t in _by_status(trials, "complete") if t.finished_at), key=lambda t: t.finished_at)
    running = [t for t in _by_status(trials, "running") if t.started_at]
    if not complete or len(running) != 2:
        return None
    last, newest = complete[-1], max(running, key=lambda t: t.started_at)
    host = (last.node or "").split("/")[0]
    fresh = (datetime.now(timezone.utc) - newest.started_at).total_seconds() <= FRESH_S
    if host in workers and fresh and newest.started_at >= last.finished_at - timedelta(seconds=1):
        return workers[host], newest.number
    return None


def _key(trial: TrialRecord) -> tuple[tuple[str, float], ...]:
    return tuple(sorted(trial.configuration.by_slot.items()))


def test_killed_worker_mid_search(cluster: Cluster) -> None:
    name, log = "compose-kill", cluster.logs / "compose-kill.log"
    proc = cluster.compose.start(*cluster.launch(name, "tiny-long", "--trials", "6", "--concurrency", "2"), log=log)
    try:
        workers = _worker_hostnames(cluster)
        deadline = time.monotonic() + 600
        while True:
            assert proc.poll() is None, f"the search ended before a worker was killed:\n{log.read_text()[-3000:]}"
            assert time.monotonic() < deadline, "no trial followed another on one worker within 600 s"
            found = _worker_running_a_fresh_trial(cluster.trials(name), workers)
            if found is not None:
                break
            time.sleep(0.3)
        victim, victim_trial = found
        docker("kill", victim)
        at_kill = cluster.trials(name)
        running_at_kill = {t.number for t in _by_status(at_kill, "running")}
        complete_at_kill = {t.number: t.accuracy for t in _by_status(at_kill, "complete")}
        assert proc.wait(timeout=900) == 0, log.read_text()[-3000:]
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
    output = log.read_text()
    assert f"search '{name}' finished" in output, output[-3000:]

    trials = cluster.trials(name)
    complete, failed = _by_status(trials, "complete"), _by_status(trials, "failed")
    counts = {s: len(_by_status(trials, s)) for s in sorted({t.status for t in trials})}
    print(f"\nkill: {victim} killed running trial {victim_trial}; running at the kill {sorted(running_at_kill)}, "
          f"complete before {sorted(complete_at_kill)}; after: {counts}; errors: {[(t.number, t.error) for t in trials if t.error]}")
    assert {t.number: t.accuracy for t in complete if t.number in complete_at_kill} == complete_at_kill  # none lost
    assert len({_key(t) for t in complete}) == len(complete)  # none duplicated
    assert not _by_status(trials, "running") and not failed, counts
    # the lost trial is recorded as lost and run again to completion; the store keeps one row per
    # configuration, so it is the victim's own row, its error keeping the loss
    lost = [t for t in complete if t.error]
    assert [t.number for t in lost] == [victim_trial], [(t.number, t.error) for t in trials]
    assert lost[0].error.startswith("lost with its worker: ") and lost[0].error.endswith("; run again to completion")
    assert f"trial {victim_trial} lost with its worker: " in output and "running it again on another worker" in output
    assert len(complete) == 6  # the re-run does not count against --trials
