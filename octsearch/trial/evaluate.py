"""Evaluation on the validation split, and an optional latency measurement."""

from __future__ import annotations

import statistics
import time

import torch
from torch import Tensor, nn

EVAL_BATCH = 500


@torch.no_grad()
def count_correct(model: nn.Module, x: Tensor, y: Tensor, device: torch.device,
                  memory_format: torch.memory_format = torch.contiguous_format) -> int:
    """Images of ``x`` whose top-1 prediction equals ``y`` (model in eval mode, batch norm frozen)."""
    model.eval()
    correct = 0
    for start in range(0, x.shape[0], EVAL_BATCH):
        inputs = x[start:start + EVAL_BATCH].to(device, memory_format=memory_format, non_blocking=True)
        targets = y[start:start + EVAL_BATCH].to(device, non_blocking=True)
        correct += int((model(inputs).argmax(1) == targets).sum())
    return correct


@torch.no_grad()
def latency_ms(model: nn.Module, sample: Tensor, device: torch.device, runs: int = 20, warmup: int = 5) -> float:
    """Median wall time of one forward pass at batch 1, in milliseconds (eval mode)."""
    model.eval()
    x = sample[:1].to(device)
    times = []
    for i in range(warmup + runs):
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        model(x)
        if device.type == "cuda":
            torch.cuda.synchronize()
        if i >= warmup:
            times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)
