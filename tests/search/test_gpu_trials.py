"""GPU trials on this CUDA-less machine: a Ray cluster that declares two logical GPUs shows that
trials ask for GPUs and receive them, that a trial given a GPU it cannot use fails with one line
(recorded as its error), that a trial given none trains on the CPU, and that `launch` refuses a
request the cluster cannot meet before anything is written. Tests that need CUDA are marked."""

from __future__ import annotations

import pytest
from search_helpers import run_cli, write_space

from octsearch.search.cluster import trial_placement
from octsearch.store import open_store

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def gpu_cluster():
    from ray.cluster_utils import Cluster

    # logical GPUs: Ray schedules them, CUDA_VISIBLE_DEVICES names them, there is no card behind them
    c = Cluster(initialize_head=True, head_node_args={"num_cpus": 2, "num_gpus": 2, "include_dashboard": False})
    c.wait_for_nodes()
    try:
        yield c
    finally:
        c.shutdown()


def _placed(gpus: float) -> tuple[str, tuple[str, ...], str]:
    """(device, GPU ids, error line) of trial_placement in a Ray task given ``gpus`` GPUs."""
    import os

    import ray

    @ray.remote(num_cpus=0, num_gpus=gpus)
    def place() -> tuple[str, tuple[str, ...], str]:
        ids = tuple(str(i) for i in ray.get_gpu_ids())
        try:
            return str(trial_placement()), ids, os.environ.get("CUDA_VISIBLE_DEVICES", "")
        except Exception as e:  # noqa: BLE001 (the test reads the message)
            return f"error: {e}", ids, os.environ.get("CUDA_VISIBLE_DEVICES", "")

    return ray.get(place.remote())


def test_a_task_given_a_gpu_gets_its_id_and_fails_without_cuda_one_given_none_uses_the_cpu(gpu_cluster):
    import ray
    import torch

    ray.init(address=gpu_cluster.address, log_to_driver=False)
    try:
        whole, half, none = _placed(1), _placed(0.5), _placed(0)
    finally:
        ray.shutdown()
    for outcome, ids, visible in (whole, half):
        assert len(ids) == 1 and ids[0] in {"0", "1"} and visible == ids[0]  # Ray narrowed CUDA_VISIBLE_DEVICES
        if int(ids[0]) < torch.cuda.device_count():  # a real card behind the logical GPU
            assert outcome == f"cuda:0 (Ray GPU {ids[0]})"
        else:
            assert outcome.startswith(f"error: this trial was given GPU {ids[0]} by Ray (CUDA_VISIBLE_DEVICES='{ids[0]}')")
            assert "accepted: nodes whose torch has CUDA" in outcome and "\n" not in outcome
    assert none == ("cpu", (), "")  # asked for no GPU: the CPU, and Ray hides the GPUs


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="with CUDA the trials train on the GPU")
def test_trials_that_asked_for_a_gpu_receive_one_and_fail_with_one_line(gpu_cluster, tmp_path):
    space = write_space(tmp_path, epochs=1)
    space.write_text(space.read_text() + "resources: {gpu: 1}\n")  # the space's request, no flag
    db = f"sqlite:///{tmp_path / 'gpu.db'}"
    proc = run_cli("launch", str(space), "--name", "g", "--trials", "2", "--concurrency", "2", "--db", db,
                   "--address", gpu_cluster.address, "--results-dir", str(tmp_path / "tune"))
    assert proc.returncode == 0, proc.stderr[-3000:] + proc.stdout[-3000:]
    trials = open_store(db).trials("g")
    assert len(trials) == 2 and all(t.status == "failed" for t in trials), [(t.status, t.error) for t in trials]
    for t in trials:
        assert "\n" not in t.error and "this trial was given GPU " in t.error, t.error
        assert "was built without CUDA" in t.error or "sees no CUDA device" in t.error, t.error
        assert t.error.split("given GPU ")[1].split(" ")[0] in {"0", "1"}, t.error


def test_trials_given_no_gpu_train_on_the_cpu_of_a_gpu_cluster(gpu_cluster, tmp_path):
    space = write_space(tmp_path, epochs=1)
    space.write_text(space.read_text() + "resources: {gpu: 0.5}\n")
    db = f"sqlite:///{tmp_path / 'cpu.db'}"
    proc = run_cli("launch", str(space), "--name", "c", "--trials", "2", "--concurrency", "2", "--db", db,
                   "--address", gpu_cluster.address, "--gpus-per-trial", "0", "--results-dir", str(tmp_path / "tune"))
    assert proc.returncode == 0, proc.stderr[-3000:] + proc.stdout[-3000:]
    trials = open_store(db).trials("c")
    assert len(trials) == 2 and all(t.status == "complete" for t in trials), [(t.status, t.error) for t in trials]
    assert all(t.node.endswith(" cpu") for t in trials), [t.node for t in trials]  # the flag overrode the file


@pytest.mark.parametrize(("flags", "piece"), [
    (["--gpus-per-trial", "3"], "--gpus-per-trial 3 GPUs per trial, but the largest node of the cluster at "),
    (["--cpus-per-trial", "3"], "--cpus-per-trial 3 CPUs per trial, but the largest node of the cluster at "),
], ids=["gpus-3-of-2", "cpus-3-of-2"])
def test_a_request_the_cluster_cannot_meet_is_refused_before_anything_is_written(gpu_cluster, tmp_path, flags, piece):
    db = tmp_path / "never.db"
    proc = run_cli("launch", str(write_space(tmp_path)), "--name", "n", "--db", f"sqlite:///{db}",
                   "--address", gpu_cluster.address, *flags)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1 and piece in lines[0], proc.stderr[-2000:]
    assert " has 2; accepted: " in lines[0]
    assert not db.exists()


@pytest.mark.skipif(not __import__("torch").cuda.is_available(), reason="needs CUDA")
def test_with_cuda_a_trial_given_a_gpu_trains_on_it(tmp_path):
    """Where CUDA is present: a local Ray sees the card, the trial trains on it and says so."""
    space = write_space(tmp_path, epochs=1)
    db = f"sqlite:///{tmp_path / 'cuda.db'}"
    proc = run_cli("launch", str(space), "--name", "cuda", "--trials", "2", "--concurrency", "2", "--db", db,
                   "--gpus-per-trial", "0.5", "--results-dir", str(tmp_path / "tune"))
    assert proc.returncode == 0, proc.stderr[-3000:] + proc.stdout[-3000:]
    trials = open_store(db).trials("cuda")
    assert all(t.status == "complete" and " cuda:0 (Ray GPU " in t.node for t in trials), [t.node for t in trials]
