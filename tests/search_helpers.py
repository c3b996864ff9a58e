"""Tiny real searches: a small space on the shipped MNIST subset, launched through the CLI in a
subprocess (a real local Ray per launch), results in SQLite files under tmp_path."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

TINY_SPACE = """\
description: tiny test space
model:
  name: oct_resnet20
  args: {{width_mult: 0.5}}
data: {{name: mnist, seed: 0, val_fraction: 0.2, limit: 400}}
search:
  grid: [0, 0.25, 0.5]
  params:
    stage1.out: {{slots: [stage1.out]}}
    rest: {{slots: ["stage2.*", "stage1.block*.inner"]}}
budget:
  epochs: {epochs}
  batch_size: 64
  optimizer: {{name: sgd, lr: 0.1}}
  seed: 0
  threads: 1
flops_budget: {flops_budget}
objectives: {{flops: paper, latency: {latency}}}
sampler: {{name: nsga2, trials: 4, concurrency: 2}}
"""


def write_space(folder: Path, name: str = "tiny", epochs: int = 2, flops_budget: str = "null",
                latency: bool = False) -> Path:
    path = folder / f"{name}.yaml"
    path.write_text(TINY_SPACE.format(epochs=epochs, flops_budget=flops_budget, latency=str(latency).lower()))
    return path


def octsearch_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "octsearch.cli.main", *args]


def run_cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(octsearch_cmd(*args), capture_output=True, text=True, timeout=timeout)


def start_cli(*args: str, log: Path) -> subprocess.Popen:
    """Start a launch in its own process group, so the test can end everything it started."""
    return subprocess.Popen(octsearch_cmd(*args), stdout=log.open("w"), stderr=subprocess.STDOUT,
                            start_new_session=True)


def end_group(proc: subprocess.Popen) -> None:
    """Kill what is left of a launch's process group (its local Ray), and reap the driver."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        pass


def wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")
