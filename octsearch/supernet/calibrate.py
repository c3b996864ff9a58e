"""Batch-norm recalibration: a configuration's statistics recomputed on a few training images.

The supernet's running statistics mix every configuration it trained; one configuration's own are
a forward pass away (no gradient, training-mode batch norm, cumulative average). The same
calibration images serve every configuration, gathered once.
"""

from __future__ import annotations

import torch

from octsearch.data.batches import BatchReader
from octsearch.errors import ConfigError
from octsearch.supernet.switchable import Supernet

CALIBRATION_BATCH = 250  # images per recalibration forward pass


def calibration_images(reader: BatchReader, count: int, seed: int) -> list[torch.Tensor]:
    """``count`` training images in a seeded order, as normalised batches on the reader's device."""
    if isinstance(count, bool) or not isinstance(count, int) or count < 2:
        raise ConfigError(f"calibration images {count!r}; accepted: an integer >= 2 (batch norm needs two)")
    if count > len(reader):
        raise ConfigError(f"recalibrating batch norm needs {count} training images; the training split has "
                          f"{len(reader)}; accepted: at most {len(reader)} calibration images (or more data)")
    batches, seen = [], 0
    for inputs, _ in reader.epoch(CALIBRATION_BATCH, torch.Generator().manual_seed(seed)):
        batches.append(inputs[: count - seen])
        seen += len(batches[-1])
        if seen >= count:
            break
    return batches


@torch.no_grad()
def recalibrate(supernet: Supernet, batches: list[torch.Tensor]) -> None:
    """Set the switched configuration's batch-norm statistics to those of ``batches``; the supernet
    is left in eval mode."""
    momenta = [norm.momentum for norm in supernet.norms]
    for norm in supernet.norms:
        norm.reset_statistics()
        norm.momentum = None
    supernet.train()
    try:
        for inputs in batches:
            supernet(inputs)
    finally:
        for norm, momentum in zip(supernet.norms, momenta, strict=True):
            norm.momentum = momentum
        supernet.eval()
