"""The proxy training loop: optimizer, learning-rate schedule, one epoch of batches from a reader."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from octsearch.data.batches import BatchReader, Transform, steps_per_epoch
from octsearch.spaces.schema import OptimizerSpec, ScheduleSpec
from octsearch.trial.recipe import Recipe

__all__ = ["lr_factor", "make_optimizer", "steps_per_epoch", "train_epoch"]

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


def train_epoch(
    model: nn.Module,
    reader: BatchReader,
    *,
    batch_size: int,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    generator: torch.Generator,
    recipe: Recipe,
    transform: Transform | None = None,
    label_smoothing: float = 0.0,
    scaler: torch.amp.GradScaler | None = None,
    after_step: Callable[[], None] | None = None,
) -> float:
    """One pass over the reader's images in an order drawn from ``generator`` (``transform``, e.g.
    an augmentation, on each batch in [0, 1]; ``after_step`` after each optimizer step, e.g. a
    moving average of the weights); returns the mean loss."""
    model.train()
    total, batches = torch.zeros((), device=recipe.device), 0
    for inputs, targets in reader.epoch(batch_size, generator, transform):
        with recipe.precision():
            loss = F.cross_entropy(model(inputs), targets, label_smoothing=label_smoothing)
        optimizer.zero_grad(set_to_none=True)
        if scaler is None:
            loss.backward()
            optimizer.step()
        else:
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
        scheduler.step()
        if after_step is not None:
            after_step()
        total += loss.detach().float()  # summed on the device: no wait for the GPU each step
        batches += 1
    return float(total) / max(1, batches)
