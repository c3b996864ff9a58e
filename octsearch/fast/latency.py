"""Measured CPU latency through the fast inference path: a search objective next to FLOPs.

Latency in milliseconds per forward call (wall clock, ``time.perf_counter``), the median of
``repeats`` timed calls after ``warmup`` untimed ones, at a fixed thread count and batch size.
The same figures depend on the machine and on what else runs on it: compare configurations
measured on the same machine, ideally interleaved.
"""

from __future__ import annotations

import contextlib
import ctypes
import statistics
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass

import torch
from torch import nn

from octsearch.core.registration import check_input_shape
from octsearch.errors import ConfigError

# glibc mallopt parameters (malloc.h) and the values the benchmarks use: keep freed memory in the
# heap instead of returning it to the kernel, so that each call does not page-fault afresh.
_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_THRESHOLD = -1, -2, -3
MALLOC_ENV = {
    "MALLOC_MMAP_THRESHOLD_": str(32 * 2**20),  # glibc's maximum (HEAP_MAX_SIZE / 2 on 64-bit)
    "MALLOC_TRIM_THRESHOLD_": str(2**30),
    "MALLOC_TOP_PAD_": str(64 * 2**20),
}


def tune_malloc() -> bool:
    """Apply :data:`MALLOC_ENV` to this process through ``mallopt`` (glibc only).

    Returns True if applied. Affects the whole process: timings get steadier, memory is returned
    to the system later.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    ok = libc.mallopt(_M_MMAP_THRESHOLD, int(MALLOC_ENV["MALLOC_MMAP_THRESHOLD_"]))
    ok &= libc.mallopt(_M_TRIM_THRESHOLD, int(MALLOC_ENV["MALLOC_TRIM_THRESHOLD_"]))
    ok &= libc.mallopt(_M_TOP_PAD, int(MALLOC_ENV["MALLOC_TOP_PAD_"]))
    return bool(ok)


@dataclass(frozen=True)
class LatencyResult:
    """Latency of one forward call, in milliseconds (wall clock).

    Attributes:
        median_ms: median over the timed calls.
        iqr_ms: interquartile range (75th - 25th percentile) over the timed calls.
        min_ms: fastest call.
        cpu_median_ms: median CPU time of the calling thread per call (less sensitive to other
            processes than wall clock when ``threads`` is 1).
        repeats: timed calls.
        threads: torch intra-op threads during the measurement.
        batch: batch size of each call.
        input_shape: (channels, height, width) of one sample.
        path: "fast" (optimize_for_inference, eager), "fast+compile" or "reference".
    """

    median_ms: float
    iqr_ms: float
    min_ms: float
    cpu_median_ms: float
    repeats: int
    threads: int
    batch: int
    input_shape: tuple[int, int, int]
    path: str


@contextlib.contextmanager
def torch_threads(threads: int) -> Iterator[None]:
    """Run the block with ``torch.set_num_threads(threads)``, then restore the previous count."""
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _input_shape(model: nn.Module, input_size: int | tuple[int, ...]) -> tuple[int, int, int]:
    if isinstance(input_size, bool):
        raise ConfigError(f"input_size={input_size!r}; accepted: an int side or (channels, height, width)")
    if isinstance(input_size, int):
        in_chans = int(getattr(model, "model_args", {}).get("in_chans", 3))
        shape: tuple[int, ...] = (in_chans, input_size, input_size)
    else:
        shape = tuple(input_size)
    accepted = "an int side or (channels, height, width)"
    if len(shape) != 3 or not all(isinstance(s, int) and s > 0 for s in shape):
        raise ConfigError(f"input_size={input_size!r}; accepted: {accepted}")
    check_input_shape(f"input_size={input_size!r}", shape, accepted)  # type: ignore[arg-type]
    return shape  # type: ignore[return-value]


def _quartiles(values: list[float]) -> tuple[float, float]:
    if len(values) < 2:
        return values[0], values[0]
    q = statistics.quantiles(values, n=4, method="inclusive")
    return q[0], q[2]


LATENCY_PATHS = ("fast", "fast+onnxruntime", "fast+compile", "reference")


def measure_latency(
    model: nn.Module,
    input_size: int | tuple[int, int, int],
    *,
    threads: int = 1,
    batch: int = 1,
    repeats: int = 30,
    warmup: int = 5,
    path: str = "fast",
    tune_allocator: bool = True,
    seed: int = 0,
) -> LatencyResult:
    """Median CPU latency of ``model`` on random inputs through the given path.

    ``path`` is "fast" (:func:`optimize_for_inference`, eager; the default, cheap to prepare),
    "fast+onnxruntime" (the same exported to ONNX Runtime; a few seconds to export, the fastest
    path on Oct-ResNet-50), "fast+compile" (through ``torch.compile``; 10-60 s to compile) or
    "reference" (the model as it is, eval mode). ``input_size`` is a side (channels from ``model.model_args``,
    else 3) or ``(channels, height, width)``. ``tune_allocator`` applies :func:`tune_malloc`.
    The model is not changed.
    """
    from octsearch.fast.inference import optimize_for_inference

    for name, value, low in (("threads", threads, 1), ("batch", batch, 1), ("repeats", repeats, 1), ("warmup", warmup, 0)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ConfigError(f"{name}={value!r}; accepted: an integer >= {low}")
    paths = LATENCY_PATHS
    if path not in paths:
        raise ConfigError(f"path={path!r}; accepted: {', '.join(paths)}")
    shape = _input_shape(model, input_size)
    if tune_allocator:
        tune_malloc()
    if path == "reference":
        run: nn.Module = model
        was_training = model.training
        model.eval()
    else:
        run = optimize_for_inference(model, compile=path == "fast+compile", onnxruntime=path == "fast+onnxruntime")
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn((batch, *shape), generator=gen)
    wall: list[float] = []
    cpu: list[float] = []
    try:
        with torch_threads(threads), torch.no_grad():
            for _ in range(warmup):
                run(x)
            for _ in range(repeats):
                t0, c0 = time.perf_counter(), time.thread_time()
                run(x)
                cpu.append((time.thread_time() - c0) * 1e3)
                wall.append((time.perf_counter() - t0) * 1e3)
    finally:
        if path == "reference":
            model.train(was_training)
    q1, q3 = _quartiles(wall)
    return LatencyResult(
        median_ms=statistics.median(wall), iqr_ms=q3 - q1, min_ms=min(wall),
        cpu_median_ms=statistics.median(cpu), repeats=repeats, threads=threads, batch=batch,
        input_shape=shape, path=path,
    )
