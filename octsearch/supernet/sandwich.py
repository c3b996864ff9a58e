"""The sandwich rule (BigNAS, Once-for-All): each step trains the largest-FLOPs configuration, the
smallest and K random ones on one batch, gradients accumulated, then one optimizer step.

With in-place distillation the largest configuration learns from the labels and the others from
its (detached) predictions.
"""

from __future__ import annotations

import random
from collections.abc import Callable

import torch
import torch.nn.functional as F

from octsearch.configuration import Configuration
from octsearch.spaces.space import SearchSpace
from octsearch.supernet.settings import SandwichRule
from octsearch.supernet.switchable import Supernet


def step_configurations(space: SearchSpace, rule: SandwichRule, rng: random.Random) -> list[Configuration]:
    """The step's configurations, the largest-FLOPs one first (the teacher when distilling)."""
    largest, smallest = space.extreme_configurations()
    drawn = [space.from_params({p.name: rng.choice(p.choices) for p in space.params}) for _ in range(rule.random)]
    return [largest, smallest, *drawn]


def sandwich_step(supernet: Supernet, inputs: torch.Tensor, targets: torch.Tensor,
                  configurations: list[Configuration], distill: bool, label_smoothing: float = 0.0,
                  backward: Callable[[torch.Tensor], None] = torch.Tensor.backward) -> float:
    """Forward and backward every configuration on one batch (gradients add up); returns the mean
    loss. The caller zeroes gradients before and steps the optimizer after; ``backward`` is where
    a gradient scaler goes in."""
    teacher, total = None, 0.0
    for configuration in configurations:
        supernet.switch(configuration.by_slot)
        logits = supernet(inputs)
        if teacher is None or not distill:
            loss = F.cross_entropy(logits, targets, label_smoothing=label_smoothing)
        else:
            loss = F.kl_div(F.log_softmax(logits, 1), F.softmax(teacher, 1), reduction="batchmean")
        if teacher is None:
            teacher = logits.detach()
        backward(loss)
        total += float(loss.detach())
    return total / len(configurations)
