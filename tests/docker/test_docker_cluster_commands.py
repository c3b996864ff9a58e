"""Run compose.yaml's Ray commands for real, without Docker: a token-authenticated cluster.

The ray-head and ray-worker commands and their environment come from compose.yaml (as compose
interpolates them); only what Docker would isolate is changed: the head's address (127.0.0.1
and a free port instead of the ray-head service on 6379) and a private temp dir and ports, so
that other Ray clusters on this machine are untouched. The driver is octsearch's own
``ray_session`` with the search service's environment.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from docker_helpers import DOCKER, load_compose, service_command, service_env

pytestmark = pytest.mark.slow

RAY = str(Path(sys.executable).parent / "ray")

# The driver: join with octsearch's ray_session, wait for both nodes, run one task on each.
DRIVER = textwrap.dedent("""
    import json, sys, time
    from octsearch.errors import ClusterError
    from octsearch.search.cluster import ray_session
    try:
        with ray_session(sys.argv[1]):
            import ray
            deadline = time.time() + 60
            while sum(n["Alive"] for n in ray.nodes()) < 2 and time.time() < deadline:
                time.sleep(0.5)
            nodes = [n for n in ray.nodes() if n["Alive"]]

            @ray.remote(num_cpus=1)
            def where():
                import octsearch
                return ray.get_runtime_context().get_node_id(), octsearch.__version__

            from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy as On
            ran = ray.get([where.options(scheduling_strategy=On(n["NodeID"], soft=False)).remote()
                           for n in nodes], timeout=120)
            print(json.dumps({"ok": True, "nodes": len(nodes), "cpus": ray.cluster_resources().get("CPU"),
                              "ran_on": sorted({r[0] for r in ran}), "node_ids": sorted(n["NodeID"] for n in nodes),
                              "versions": sorted({r[1] for r in ran})}))
    except ClusterError as e:
        print(json.dumps({"ok": False, "error": str(e)}))
""")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _replace(args: list[str], old: str, new: str) -> list[str]:
    assert old in args, f"{old} not in {args}: compose.yaml changed, update this test"
    return [new if a == old else a for a in args]


def _stop(proc: subprocess.Popen) -> None:
    """End a `ray start --block` and every process it started (its own session)."""
    for sig, wait in ((signal.SIGTERM, 5), (signal.SIGKILL, 5)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            continue
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # children outlive `ray start` on SIGTERM
    except ProcessLookupError:
        pass


def _base_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("RAY_", "OCTSEARCH_"))}


class Cluster:
    def __init__(self, address: str, token: str, compose: dict, ports: dict[str, int], log_dir: Path) -> None:
        self.address, self.token, self.compose, self.ports, self.log_dir = address, token, compose, ports, log_dir

    def driver(self, env: dict[str, str], timeout: float = 240) -> dict:
        run = subprocess.run([sys.executable, "-c", DRIVER, self.address], capture_output=True, text=True,
                             env={**_base_env(), **env}, timeout=timeout, cwd=self.log_dir)
        lines = [line for line in run.stdout.splitlines() if line.startswith("{")]
        assert lines, f"driver printed no result (exit {run.returncode}):\n{run.stdout}\n{run.stderr[-3000:]}"
        return json.loads(lines[-1])

    def healthcheck(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, str(DOCKER / "healthcheck.py"), *args], capture_output=True,
                              text=True, timeout=30)


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    token = secrets.token_hex(32)
    compose = load_compose({"RAY_AUTH_TOKEN": token})
    services = compose["services"]
    port = _free_port()
    ports = {name: _free_port() for name in ("dashboard", "head_agent", "worker_agent")}
    # A short private temp dir: Ray's socket paths must stay under 107 characters.
    temp_dir = Path(tempfile.mkdtemp(prefix="ocd", dir="/tmp"))
    head_cmd = _replace(service_command(services["ray-head"]), "--port=6379", f"--port={port}")
    head_cmd += [f"--temp-dir={temp_dir}", f"--dashboard-port={ports['dashboard']}",
                 f"--dashboard-agent-listen-port={ports['head_agent']}"]
    worker_cmd = _replace(service_command(services["ray-worker"]), "--address=ray-head:6379",
                          f"--address=127.0.0.1:{port}")
    worker_cmd += [f"--temp-dir={temp_dir}", f"--dashboard-agent-listen-port={ports['worker_agent']}"]
    procs: list[subprocess.Popen] = []
    try:
        for name, cmd in (("ray-head", head_cmd), ("ray-worker", worker_cmd)):
            assert cmd[0] == "ray"
            log = open(temp_dir / f"{name}.log", "w")  # noqa: SIM115 (closed with the process)
            procs.append(subprocess.Popen([RAY, *cmd[1:]], env={**_base_env(), **service_env(services[name])},
                                          stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
            if name == "ray-head":
                deadline = time.time() + 90
                while time.time() < deadline:
                    assert procs[0].poll() is None, (temp_dir / "ray-head.log").read_text()[-3000:]
                    try:
                        socket.create_connection(("127.0.0.1", port), timeout=1).close()
                        break
                    except OSError:
                        time.sleep(0.5)
        yield Cluster(f"127.0.0.1:{port}", token, compose, ports, temp_dir)
    finally:
        for proc in reversed(procs):
            _stop(proc)
        shutil.rmtree(temp_dir, ignore_errors=True)


def test_search_service_env_joins_both_nodes(cluster: Cluster) -> None:
    env = service_env(cluster.compose["services"]["search"])
    env.pop("OCTSEARCH_JOIN_RAY")  # the host is already a node of this cluster
    result = cluster.driver(env)
    assert result["ok"], result
    assert result["nodes"] == 2
    head_cpus = 1  # compose defaults: RAY_HEAD_CPUS=1, RAY_WORKER_CPUS=2
    assert result["cpus"] == head_cpus + 2
    assert result["ran_on"] == result["node_ids"]  # a task ran on each node, octsearch importable there
    import octsearch

    assert result["versions"] == [octsearch.__version__]


def test_token_in_the_default_file_is_accepted(cluster: Cluster, tmp_path: Path) -> None:
    # docker/README.md's route for machines outside compose: RAY_AUTH_MODE=token, ~/.ray/auth_token
    (tmp_path / ".ray").mkdir()
    (tmp_path / ".ray" / "auth_token").write_text(cluster.token)
    result = cluster.driver({"RAY_AUTH_MODE": "token", "HOME": str(tmp_path)})
    assert result["ok"] and result["nodes"] == 2, result


def test_a_wrong_token_is_refused(cluster: Cluster) -> None:
    result = cluster.driver({"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": "0" * 64})
    assert not result["ok"]
    assert f"Ray could not start or join {cluster.address}" in result["error"]


# The healthcheck with the dashboard agent running (it needs ray[default], which the image has and
# this test environment does not) is exercised by tests/docker/test_compose_cluster.py: `compose up
# --wait` waits until every Ray container's octsearch-healthcheck passes.
