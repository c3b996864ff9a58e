"""`launch` refuses a trial request this machine cannot meet, or that is not a request at all:
exit code 2, one line naming the value and what is accepted, nothing written, no Ray started.
(A cluster's capacity: tests/search/test_gpu_trials.py.)"""

from __future__ import annotations

import os
from pathlib import Path

import fuzz_helpers
import pytest
from fuzz_helpers import assert_clean, run_cli, snapshot
from search_helpers import write_space

from octsearch.search.cluster import local_gpu_count
from octsearch.spaces import load_space

hermetic, memory_guard = fuzz_helpers.hermetic, fuzz_helpers.memory_guard

CPUS = os.cpu_count() or 1
GPU_ACCEPTED = "accepted: 0 (no GPU), a fraction in (0, 1] (trials share a card) or a whole number of GPUs"
CASES = [
    pytest.param(["--gpus-per-trial", "1.5"], f"--gpus-per-trial 1.5; {GPU_ACCEPTED}", id="gpu-1.5"),
    pytest.param(["--gpus-per-trial", "-0.5"], "--gpus-per-trial -0.5; accepted: 0 (no GPU)", id="gpu-negative"),
    pytest.param(["--gpus-per-trial", "nan"], "--gpus-per-trial nan; accepted:", id="gpu-nan"),
    pytest.param(["--gpus-per-trial", "inf"], "--gpus-per-trial inf; accepted:", id="gpu-inf"),
    pytest.param(["--cpus-per-trial", "0"], "--cpus-per-trial 0; accepted: an integer >= 1", id="cpu-0"),
    pytest.param(["--cpus-per-trial", str(CPUS + 1)],
                 f"--cpus-per-trial {CPUS + 1} CPUs per trial, but the largest node of this machine has {CPUS}; "
                 f"accepted: at most {CPUS}", id="cpu-above-the-machine"),
]
SPACE_CASES = [
    pytest.param("resources: {gpu: 1.5}", f"resources.gpu: 1.5 is not accepted: GPUs per trial; {GPU_ACCEPTED}",
                 id="space-gpu-1.5"),
    pytest.param("resources: {gpu: 0.5, gpus: 1}", "resources.gpus: unknown key; accepted keys under resources: cpu, gpu",
                 id="space-unknown-key"),
    # each trial runs budget.threads torch threads: fewer reserved CPUs would oversubscribe a node
    pytest.param("resources: {cpu: 1}", "resources.cpu of bad.yaml is 1, below budget.threads 2: each trial runs 2 torch threads; accepted: an integer >= 2",
                 id="space-cpu-below-threads"),
]


def _launch(tmp_path: Path, space: str, extra: list[str]) -> str:
    argv = ["launch", space, "--name", "r", "--trials", "2", "--db", f"sqlite:///{tmp_path / 'r.db'}", *extra]
    before = snapshot(tmp_path)
    code, _, err = run_cli(argv)
    assert code == 2, (code, err[-800:])
    assert_clean(argv, code, err)
    assert snapshot(tmp_path) == before  # no database, no Tune directory
    return err


@pytest.mark.parametrize(("extra", "piece"), CASES)
def test_a_bad_trial_request_is_one_line_and_writes_nothing(extra: list[str], piece: str, tmp_path: Path) -> None:
    assert piece in _launch(tmp_path, "default", extra)


@pytest.mark.skipif(local_gpu_count() > 0, reason="this machine has a GPU Ray can use: the request is met")
def test_a_gpu_request_on_a_machine_without_gpus_is_refused(tmp_path: Path) -> None:
    err = _launch(tmp_path, "default", ["--gpus-per-trial", "0.25"])
    assert "--gpus-per-trial 0.25: Ray sees no GPU on this machine (1 node(s)); accepted: 0 (train on the CPU)" in err


@pytest.mark.parametrize(("section", "piece"), SPACE_CASES)
def test_a_bad_resources_section_is_one_line_and_writes_nothing(section: str, piece: str, tmp_path: Path) -> None:
    text = write_space(tmp_path).read_text().replace("threads: 1", "threads: 2")
    path = tmp_path / "bad.yaml"
    path.write_text(text + section + "\n")
    assert piece in _launch(tmp_path, str(path), [])


def test_the_space_sets_the_request_and_the_flags_override_it(tmp_path: Path) -> None:
    path = tmp_path / "gpu.yaml"
    path.write_text(write_space(tmp_path).read_text() + "resources: {cpu: 2, gpu: 0.25}\n")
    space = load_space(path)
    assert space.resources().as_ray() == {"cpu": 2, "gpu": 0.25}
    assert space.resources(gpus=0).as_ray() == {"cpu": 2}  # 0: no GPU key, Ray hides the GPUs
    assert space.resources(gpus=2, cpus=3).as_ray() == {"cpu": 3, "gpu": 2.0}
    assert load_space("default").resources().as_ray() == {"cpu": load_space("default").budget().threads}

