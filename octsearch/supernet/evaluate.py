"""Every configuration of a list scored by the trained supernet: switch, set batch norm, validate.

Batch norm (``bn``): ``recalibrate`` recomputes each configuration's statistics on the same few
hundred training images (gathered once for all of them); ``switchable`` uses the statistics the
supernet kept per slot alpha while it trained (no recalibration pass). Validation is the trial's
(:func:`~octsearch.trial.evaluate.count_correct`): eval mode, the whole validation split. Scoring
shares each layer's work among the configurations that agree up to it (:mod:`.shared`) and runs
in the budget's layout, as the supernet trains (channels-last: scoring 1.5x faster on the CPU here).
"""

from __future__ import annotations

import copy
import time
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from octsearch.configuration import Configuration
from octsearch.data.batches import BatchReader
from octsearch.supernet.build import supernet_layout
from octsearch.supernet.calibrate import calibration_images, recalibrate
from octsearch.supernet.settings import EvaluationSettings
from octsearch.supernet.shared import score_shared
from octsearch.supernet.switchable import Supernet
from octsearch.trial.evaluate import EVAL_BATCH, count_correct
from octsearch.trial.recipe import Recipe


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
                         train: BatchReader, val: BatchReader, recipe: Recipe, *,
                         shared: bool = True) -> list[SupernetScore]:
    """Score each configuration (a copy of the supernet is scored: its trained statistics stay).

    ``shared``: each layer's work once per distinct prefix of slots (:mod:`.shared`), the same
    scores as one configuration at a time (``shared=False``, the reference the tests hold it to).
    """
    calibration = None
    if settings.bn == "recalibrate":
        calibration = calibration_images(train, settings.calibration_images, settings.seed)
    supernet = copy.deepcopy(supernet)
    supernet.set_layout(val.memory_format)  # the readers' layout: channels-last where the budget says so
    if shared:
        batches = list(val.sequential(EVAL_BATCH))  # read and normalised once for every configuration
        results = score_shared(supernet, configurations, calibration, batches, recipe.precision)
        return [SupernetScore(c, correct, len(val), seconds)
                for c, (correct, seconds) in zip(configurations, results, strict=True)]
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
    """The space's training and validation readers on ``device``, in the supernet's layout."""
    from octsearch.trial.recipe import split_reader

    data, layout = space.data.load(), supernet_layout(space)
    return split_reader(data, "train", device, layout), split_reader(data, "val", device, layout)
