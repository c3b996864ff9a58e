"""Evaluation on the validation split, and the latency objective."""

from __future__ import annotations

from typing import Any

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


def space_latency_ms(space: Any, model: nn.Module, threads: int) -> float:
    """The space's latency objective: median batch-1 wall-clock latency (ms) of ``model`` on this
    machine, through the inference path the space names (``objectives.latency_path``), at the
    trial's thread count, on the CPU. Weights do not matter; the model is not changed."""
    import copy

    from octsearch.fast import measure_latency

    if any(p.device.type != "cpu" for p in model.parameters()):
        model = copy.deepcopy(model).cpu()

    return float(measure_latency(model, space.model_args["input_size"], threads=threads,
                                 path=space.objectives.latency_path).median_ms)
