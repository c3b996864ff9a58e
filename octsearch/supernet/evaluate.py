"""Every configuration of a list scored by the trained supernet: switch, set batch norm, validate.

Batch norm (``bn``): ``recalibrate`` recomputes each configuration's statistics on the same few
hundred training images (gathered once for all of them); ``switchable`` uses the statistics the
supernet kept per slot alpha while it trained (no recalibration pass). Validation is the trial's
(:func:`~octsearch.trial.evaluate.count_correct`): eval mode, the whole validation split.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from octsearch.configuration import Configuration
from octsearch.data.batches import BatchReader
from octsearch.supernet.calibrate import calibration_images, recalibrate
from octsearch.supernet.settings import EvaluationSettings
from octsearch.supernet.switchable import Supernet
from octsearch.trial.evaluate import count_correct
from octsearch.trial.recipe import Recipe

# The supernet runs contiguous whatever ``budget.channels_last`` says: a few sandwich steps of a
# channels-last supernet at width 0.25 crashed inside torch's CPU backward (segfault, bus error;
# torch 2.13). The cause, found since: a strided 1x1 convolution on a channels-last map with 2-7
# input channels, which OctConv2d now computes another way (core/layers.py); a channels-last
# supernet has not been measured again, so it stays contiguous.
LAYOUT = torch.contiguous_format


@dataclass(frozen=True)
class SupernetScore:
    """One configuration as the supernet scores it: ``correct`` of ``n_val`` validation images;
    ``seconds`` its recalibration and validation wall time."""

    configuration: Configuration
    correct: int
    n_val: int
    seconds: float

    @property
    def accuracy(self) -> float:
        """Fraction of the validation split right."""
        return self.correct / self.n_val


def score_configurations(supernet: Supernet, configurations: Sequence[Configuration], settings: EvaluationSettings,
                         train: BatchReader, val: BatchReader, recipe: Recipe) -> list[SupernetScore]:
    """Score each configuration (a copy of the supernet is recalibrated: its trained statistics stay)."""
    calibration = None
    if settings.bn == "recalibrate":
        calibration = calibration_images(train, settings.calibration_images, settings.seed)
        supernet = copy.deepcopy(supernet)
    scores = []
    for configuration in configurations:
        start = time.perf_counter()
        supernet.switch(configuration.by_slot)
        if calibration is not None:
            with recipe.precision():
                recalibrate(supernet, calibration)
        correct = count_correct(supernet, val, recipe)
        scores.append(SupernetScore(configuration, correct, len(val), time.perf_counter() - start))
    return scores


def readers(space, device: torch.device) -> tuple[BatchReader, BatchReader]:  # noqa: ANN001
    """The space's training and validation readers on ``device``, in its layout."""
    from octsearch.trial.recipe import split_reader

    data = space.data.load()
    return split_reader(data, "train", device, LAYOUT), split_reader(data, "val", device, LAYOUT)
