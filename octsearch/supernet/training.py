"""Training a space's supernet with the sandwich rule, at the space's proxy recipe, resumably.

Lifecycle: open the space's data -> seed, build the supernet -> optimizer and learning-rate
schedule of the space's proxy budget, stretched over the supernet's epochs -> resume from the
checkpoint if one of this space and these settings exists -> each step: the sandwich's
configurations on one batch, one optimizer step -> a checkpoint after every epoch. On the CPU the
same settings give the same weights whether or not the training was interrupted: the batch order,
the augmentation and the configuration draws resume from their saved generators.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from octsearch.spaces.space import SearchSpace
from octsearch.supernet.build import build_supernet, supernet_layout
from octsearch.supernet.checkpoint import load_checkpoint, save_checkpoint
from octsearch.supernet.sandwich import sandwich_step, step_configurations
from octsearch.supernet.settings import SupernetSettings
from octsearch.supernet.switchable import Supernet
from octsearch.trial.augment import augment_generator, training_augment
from octsearch.trial.recipe import kernel_settings, recipe_for, split_reader
from octsearch.trial.train import lr_factor, make_optimizer, steps_per_epoch


@dataclass
class TrainedSupernet:
    """The trained supernet, the epochs it has, and its training wall time (s, resumed runs summed)."""

    supernet: Supernet
    epochs: int
    train_seconds: float
    resumed_from: int  # the epoch the checkpoint held (0: trained from scratch)


def train_supernet(space: SearchSpace, settings: SupernetSettings, *, checkpoint: Path | None = None,
                   device: torch.device | None = None,
                   on_epoch: Callable[[int, float], None] | None = None) -> TrainedSupernet:
    """Train (or resume) the supernet of ``space``; ``on_epoch(epoch, mean loss)`` after each epoch,
    once its checkpoint is written (an exception there stops the training; the checkpoint stays)."""
    dev = device or torch.device("cuda" if torch.cuda.is_available() else "cpu")
    spec = space.budget("proxy")
    with kernel_settings(spec.threads, dev, spec.deterministic):
        data = space.data.load()
        torch.manual_seed(settings.seed)
        supernet = build_supernet(space).to(dev)
        supernet.set_layout(supernet_layout(space))  # the budget's channels_last
        optimizer = make_optimizer(supernet, spec.optimizer)
        total = settings.epochs * steps_per_epoch(data.num_train, spec.batch_size)
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_factor(spec.schedule, total))
        generators = {"order": torch.Generator().manual_seed(settings.seed), "augment": augment_generator(settings.seed)}
        draws = random.Random(settings.seed)
        augment = training_augment(data.name, space.spec.data.augment.name, space.spec.data.augment.options)
        transform = None if augment is None else augment.bind(generators["augment"])
        done, seconds = 0, 0.0
        state = None if checkpoint is None else load_checkpoint(checkpoint, space, settings)
        if state is not None:
            supernet.load_state_dict(state["model"])
            optimizer.load_state_dict(state["optimizer"])
            scheduler.load_state_dict(state["scheduler"])
            for name, gen in generators.items():
                gen.set_state(state["generators"][name])
            draws.setstate(state["draws"])
            done, seconds = state["epoch"], state["train_seconds"]
        reader, recipe = split_reader(data, "train", dev, supernet.memory_format), recipe_for(dev)
        scaler = recipe.scaler()
        backward = torch.Tensor.backward if scaler is None else (lambda loss: scaler.scale(loss).backward())
        resumed_from = done
        for epoch in range(done + 1, settings.epochs + 1):
            start, losses = time.perf_counter(), []
            supernet.train()
            for inputs, targets in reader.epoch(spec.batch_size, generators["order"], transform):
                optimizer.zero_grad(set_to_none=True)
                with recipe.precision():
                    losses.append(sandwich_step(supernet, inputs, targets, step_configurations(space, settings.rule, draws),
                                                settings.rule.distill, spec.label_smoothing, backward))
                if scaler is None:
                    optimizer.step()
                else:
                    scaler.step(optimizer)
                    scaler.update()
                scheduler.step()
            seconds += time.perf_counter() - start
            if checkpoint is not None:
                save_checkpoint(checkpoint, space, settings, {
                    "epoch": epoch, "train_seconds": seconds, "model": supernet.state_dict(),
                    "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                    "generators": {n: g.get_state() for n, g in generators.items()}, "draws": draws.getstate()})
            if on_epoch is not None:
                on_epoch(epoch, sum(losses) / max(1, len(losses)))
    return TrainedSupernet(supernet, settings.epochs, seconds, resumed_from)
