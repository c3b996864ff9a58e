"""Shared helpers of the benchmark scripts: a fixed environment, interleaved timing, tables.

Timing protocol: every case (a callable) runs in rounds, round-robin over the cases, so slow
phases of a shared machine hit all cases alike; each round times ``inner`` consecutive calls
one by one (wall clock and the calling thread's CPU time). Medians over all timed calls.
"""

from __future__ import annotations

import os
import platform
import shlex
import statistics
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

# Fixed for every side of a comparison (glibc reads them at start-up, hence the re-exec).
BENCH_ENV = {
    "MALLOC_MMAP_THRESHOLD_": str(32 * 2**20),
    "MALLOC_TRIM_THRESHOLD_": str(2**30),
    "MALLOC_TOP_PAD_": str(64 * 2**20),
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}
_MARKER = "OCTSEARCH_BENCH_REEXEC"


def reexec_with_fixed_env() -> None:
    """Re-run this script once with :data:`BENCH_ENV` set (no-op in the re-run)."""
    if os.environ.get(_MARKER) == "1":
        return
    env = dict(os.environ, **BENCH_ENV, **{_MARKER: "1"})
    sys.stdout.flush()
    os.execve(sys.executable, [sys.executable, *sys.argv], env)


def command_line() -> str:
    """The command that reproduces this run (environment included)."""
    env = " ".join(f"{k}={v}" for k, v in BENCH_ENV.items())
    script = os.path.relpath(sys.argv[0])
    return f"{env} python {shlex.join([script, *sys.argv[1:]])}"


def machine() -> str:
    import torch

    cpu = platform.processor() or "?"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return (f"{cpu}, {os.cpu_count()} logical CPUs, torch {torch.__version__}, "
            f"{torch.get_num_threads()} torch thread(s), load average {os.getloadavg()[0]:.2f}")


@dataclass(frozen=True)
class Timing:
    """Per-call time in milliseconds: medians and interquartile range over the timed calls."""

    median_ms: float
    iqr_ms: float
    cpu_median_ms: float
    calls: int


def _iqr(values: Sequence[float]) -> float:
    if len(values) < 2:
        return 0.0
    q = statistics.quantiles(values, n=4, method="inclusive")
    return q[2] - q[0]


def interleaved(cases: Mapping[str, Callable[[], object]], rounds: int, inner: int = 1,
                warmup: int = 2) -> dict[str, Timing]:
    """Time each case ``rounds * inner`` times, round-robin (see the module docstring)."""
    for fn in cases.values():
        for _ in range(warmup):
            fn()
    wall: dict[str, list[float]] = {k: [] for k in cases}
    cpu: dict[str, list[float]] = {k: [] for k in cases}
    for _ in range(rounds):
        for key, fn in cases.items():
            for _ in range(inner):
                t0, c0 = time.perf_counter(), time.thread_time()
                fn()
                cpu[key].append((time.thread_time() - c0) * 1e3)
                wall[key].append((time.perf_counter() - t0) * 1e3)
    return {k: Timing(statistics.median(wall[k]), _iqr(wall[k]), statistics.median(cpu[k]), len(wall[k]))
            for k in cases}


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A plain-text table with right-aligned columns."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    lines = ["  ".join(h.rjust(w) for h, w in zip(headers, widths, strict=True)),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(lines)
