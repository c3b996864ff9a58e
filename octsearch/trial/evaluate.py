"""Evaluation on the validation split, and the latency objective."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from octsearch.data.batches import BatchReader
from octsearch.trial.recipe import Recipe

EVAL_BATCH = 500


@torch.no_grad()
def count_correct(model: nn.Module, reader: BatchReader, recipe: Recipe) -> int:
    """Images of the reader whose top-1 prediction equals their label (model in eval mode, batch
    norm frozen), on the reader's device, in the recipe's precision."""
    model.eval()
    correct = torch.zeros((), dtype=torch.int64, device=recipe.device)
    for inputs, targets in reader.sequential(EVAL_BATCH):
        with recipe.precision():
            correct += (model(inputs).argmax(1) == targets).sum()
    return int(correct)


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
