"""The proxy training loop: optimizer, learning-rate schedule, one epoch over in-memory tensors."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from octsearch.spaces.schema import OptimizerSpec, ScheduleSpec

ONECYCLE_START = 1 / 25  # onecycle warms up from lr/25, as torch's OneCycleLR does by default


def make_optimizer(model: nn.Module, spec: OptimizerSpec) -> torch.optim.Optimizer:
    """SGD (momentum, Nesterov if momentum > 0), Adam or AdamW with the spec's learning rate."""
    params = model.parameters()
    if spec.name == "sgd":
        return torch.optim.SGD(params, lr=spec.lr, momentum=spec.momentum,
                               nesterov=spec.nesterov and spec.momentum > 0, weight_decay=spec.weight_decay)
    if spec.name == "adam":
        return torch.optim.Adam(params, lr=spec.lr, weight_decay=spec.weight_decay)
    return torch.optim.AdamW(params, lr=spec.lr, weight_decay=spec.weight_decay)


def lr_factor(spec: ScheduleSpec, total_steps: int) -> Callable[[int], float]:
    """Multiplier of the base learning rate at each step (``warmup`` is a fraction of the steps).

    cosine: linear warm-up from 0, then cosine decay to 0. constant: linear warm-up, then 1.
    onecycle: cosine warm-up from 1/25, then cosine decay to 0 (torch's OneCycleLR shape,
    without momentum cycling).
    """
    warm = int(round(spec.warmup * total_steps))

    def factor(step: int) -> float:
        if step < warm:
            t = (step + 1) / warm
            if spec.name == "onecycle":
                return ONECYCLE_START + (1 - ONECYCLE_START) * (1 - math.cos(math.pi * t)) / 2
            return t
        if spec.name == "constant":
            return 1.0
        t = (step - warm) / max(1, total_steps - warm)
        return (1 + math.cos(math.pi * min(t, 1.0))) / 2

    return factor


def steps_per_epoch(n: int, batch_size: int) -> int:
    """Batches per epoch; a last batch of one image is dropped (batch norm needs two)."""
    full, rest = divmod(n, batch_size)
    return full + (1 if rest >= 2 else 0)


def train_epoch(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    *,
    batch_size: int,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    generator: torch.Generator,
    device: torch.device,
    memory_format: torch.memory_format = torch.contiguous_format,
) -> float:
    """One pass over ``(x, y)`` in an order drawn from ``generator``; returns the mean loss."""
    model.train()
    n = x.shape[0]
    order = torch.randperm(n, generator=generator)
    total, batches = 0.0, 0
    for b in range(steps_per_epoch(n, batch_size)):
        idx = order[b * batch_size:(b + 1) * batch_size]
        inputs = x[idx].to(device, memory_format=memory_format, non_blocking=True)
        targets = y[idx].to(device, non_blocking=True)
        loss = F.cross_entropy(model(inputs), targets)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        scheduler.step()
        total += float(loss.detach())
        batches += 1
    return total / max(1, batches)
