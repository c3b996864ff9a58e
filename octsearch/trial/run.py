"""``run_trial``: one configuration of a space -> trained, evaluated, counted :class:`TrialResult`.

Lifecycle: the configuration (built by the space unless given) -> its FLOPs (cached, before any seeding) -> open the data
set (the node's shared uint8 copy, cached in-process) -> seed, build the model -> train ``epochs`` epochs from
batches normalised (and augmented, ``data.augment``) on the trial's device, evaluating after each (or only the
last) and calling ``on_epoch(epoch, accuracy)`` -> result. The same configuration, seed, budget and
machine give the same accuracy on the CPU: the initial weights come from ``torch.manual_seed(seed)``, the
batch order from a generator seeded with ``seed``, the augmentation from its own stream of that seed, and
deterministic algorithms are switched on for the trial. On CUDA the trial follows the GPU recipe of
:mod:`octsearch.trial.recipe` (mixed precision, cuDNN autotuning unless ``budget.deterministic``). Torch's
thread count and determinism flags are restored afterwards.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from octsearch.configuration import Configuration
from octsearch.data.batches import BatchReader, Transform
from octsearch.data.dataset import ImageDataset
from octsearch.errors import ConfigError
from octsearch.spaces.schema import BudgetSpec
from octsearch.spaces.space import SearchSpace
from octsearch.stats import binomial_stderr
from octsearch.trial.augment import augment_generator, training_augment
from octsearch.trial.evaluate import count_correct, space_latency_ms
from octsearch.trial.recipe import Recipe, kernel_settings, recipe_for, split_reader
from octsearch.trial.result import TrialResult
from octsearch.trial.train import lr_factor, make_optimizer, steps_per_epoch, train_epoch

EpochCallback = Callable[[int, float], None]


def run_trial(
    space: SearchSpace,
    configuration: Configuration,
    *,
    seed: int | None = None,
    budget: str = "proxy",
    on_epoch: EpochCallback | None = None,
    device: str | torch.device | None = None,
    latency_ms: float | None = None,
    evaluate_every_epoch: bool = True,
) -> TrialResult:
    """Train and evaluate one configuration of ``space``.

    Args:
        configuration: a Configuration of ``space`` (``space.uniform(0.5)``,
            ``space.from_params({...})``, the search's; its cost, if counted, is used).
        seed: training seed (weights and batch order); default the budget's ``seed``. The
            train/validation split is the space's (``data.seed``) whatever this seed.
        budget: ``"proxy"`` or ``"full"``.
        on_epoch: called as ``on_epoch(epoch, val_accuracy)`` after each epoch (1-based, accuracy a
            fraction). An exception it raises (e.g. :class:`StopTrial`) propagates.
        device: ``"cpu"``, ``"cuda"``...; default CUDA when available.
        latency_ms: the configuration's latency if the caller measured it already on this node
            (the search does, before training, so every report carries it); otherwise measured
            here when the space names latency as an objective.
        evaluate_every_epoch: evaluate (and call ``on_epoch``) after every epoch; False evaluates
            after the last epoch only (a search without early stopping needs no other), and
            ``epoch_accuracies`` then holds that one accuracy. The final accuracy is the same.
    """
    if not isinstance(configuration, Configuration):
        raise ConfigError(f"configuration {configuration!r}; accepted: a Configuration of the space "
                          "(space.uniform(alpha), space.from_params({...}), space.from_slots({...}))")
    configuration = space.with_cost(configuration)
    spec = space.budget(budget)
    seed = spec.seed if seed is None else seed
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ConfigError(f"seed={seed!r} is not accepted; use an integer >= 0")
    dev = _device(device)
    with kernel_settings(spec.threads, dev, spec.deterministic):
        data = space.data.load()
        _check_data(space, data)
        loop = _TrainingLoop.build(space, configuration, spec, seed, dev, data)
        accuracies, timings = loop.run(spec.epochs, evaluate_every_epoch, on_epoch)
        latency = latency_ms
        if latency is None and space.objectives.latency:
            latency = space_latency_ms(space, loop.model, spec.threads)
        threads = torch.get_num_threads()
    correct = loop.correct
    accuracy = correct / data.num_val
    return TrialResult(
        configuration=configuration, accuracy=accuracy, correct=correct, n_val=data.num_val,
        accuracy_stderr=binomial_stderr(accuracy, data.num_val), epoch_accuracies=tuple(accuracies),
        train_seconds=timings[0], eval_seconds=timings[1], train_cpu_seconds=timings[2], seed=seed, budget=budget,
        epochs=spec.epochs, device=str(dev), node=socket.gethostname(), torch_threads=threads, latency_ms=latency,
        space_hash=space.hash, data_wait_seconds=loop.train_reader.wait_seconds, precision=loop.recipe.description,
    )


@dataclass
class _TrainingLoop:
    """A trial's model, optimizer and readers; :meth:`run` trains and validates epoch by epoch."""

    model: torch.nn.Module
    trainer: torch.nn.Module  # what trains: the model, or its fast CPU path (same parameters)
    evaluator: Callable[[], torch.nn.Module]
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    recipe: Recipe
    train_reader: BatchReader
    val_reader: BatchReader
    generator: torch.Generator  # the batch order's
    transform: Transform | None  # the augmentation, seeded per evaluation
    spec: BudgetSpec
    averaged: torch.optim.swa_utils.AveragedModel | None = None  # budget.ema: what is validated
    correct: int = 0

    @classmethod
    def build(cls, space: SearchSpace, configuration: Configuration, spec: BudgetSpec, seed: int,
              dev: torch.device, data: ImageDataset) -> _TrainingLoop:
        from octsearch.core.registry import create_model

        torch.manual_seed(seed)  # the initial weights: nothing draws from torch's generator before
        # channels-last: about 15-25% less CPU per training step here (measured, width-8 Oct-ResNet-20)
        layout = torch.channels_last if spec.channels_last else torch.contiguous_format
        model = create_model(space.model_name, alphas=configuration.by_slot, **space.model_args).to(dev, memory_format=layout)
        trainer = model
        if spec.fast_training and dev.type == "cpu":
            from octsearch.fast import prepare_for_training

            trainer = prepare_for_training(model)  # shares model's parameters and buffers
        optimizer = make_optimizer(model, spec.optimizer)
        total = spec.epochs * steps_per_epoch(data.num_train, spec.batch_size)
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_factor(spec.schedule, total))
        augment = training_augment(data.name, space.spec.data.augment.name, space.spec.data.augment.options)
        averaged = _moving_average(model, spec.ema)
        validated = model if averaged is None else averaged.module
        return cls(model, trainer, lambda: _evaluator(validated, spec.fast_training, dev), optimizer, scheduler,
                   recipe_for(dev), split_reader(data, "train", dev, layout), split_reader(data, "val", dev, layout),
                   torch.Generator().manual_seed(seed),
                   None if augment is None else augment.bind(augment_generator(seed)), spec, averaged)

    def run(self, epochs: int, every_epoch: bool, on_epoch: EpochCallback | None) -> tuple[list[float], tuple[float, float, float]]:
        """Accuracies (fraction, after each evaluated epoch) and (train s, eval s, train CPU s)."""
        accuracies: list[float] = []
        train_s, eval_s, cpu_s = 0.0, 0.0, 0.0
        scaler = self.recipe.scaler()
        for epoch in range(1, epochs + 1):
            start, cpu_start = time.perf_counter(), time.process_time()
            train_epoch(self.trainer, self.train_reader, batch_size=self.spec.batch_size, optimizer=self.optimizer,
                        scheduler=self.scheduler, generator=self.generator, recipe=self.recipe,
                        transform=self.transform, label_smoothing=self.spec.label_smoothing, scaler=scaler,
                        after_step=None if self.averaged is None else lambda: self.averaged.update_parameters(self.model))
            middle = time.perf_counter()
            cpu_s += time.process_time() - cpu_start
            train_s += middle - start
            if not every_epoch and epoch < epochs:
                continue
            self.correct = count_correct(self.evaluator(), self.val_reader, self.recipe)
            eval_s += time.perf_counter() - middle
            accuracies.append(self.correct / len(self.val_reader))
            if on_epoch is not None:
                on_epoch(epoch, accuracies[-1])
        return accuracies, (train_s, eval_s, cpu_s)


def _moving_average(model: torch.nn.Module, decay: float) -> torch.optim.swa_utils.AveragedModel | None:
    """``budget.ema``: an exponential moving average of the weights and of the batch-norm
    statistics (torch's AveragedModel), or None when 0. The decay warms up as
    min(decay, (1 + n) / (10 + n)) after n updates (TensorFlow's ExponentialMovingAverage with
    num_updates): a proxy trains for a few hundred steps, and a fixed decay of .99 would still
    carry the random initial weights at the end."""
    if decay <= 0:
        return None
    from torch.optim.swa_utils import AveragedModel

    @torch.no_grad()
    def update(averaged: list[torch.Tensor], current: list[torch.Tensor], n: torch.Tensor) -> None:
        weight = 1 - min(decay, (1 + float(n)) / (10 + float(n)))
        for a, c in zip(averaged, current, strict=True):
            if a.is_floating_point():
                a.lerp_(c, weight)
            else:  # batch norm's step counter
                a.copy_(c)

    return AveragedModel(model, multi_avg_fn=update, use_buffers=True)


def _evaluator(model: torch.nn.Module, fast: bool, device: torch.device) -> torch.nn.Module:
    """The model to validate: on CPU with the space's fast paths on, its inference path (batch
    norm folded, merged OctConv kernels; outputs equal within 1e-4, about 1.5x faster here)."""
    if not (fast and device.type == "cpu"):
        return model
    from octsearch.fast import optimize_for_inference

    return optimize_for_inference(model)


def _device(device: str | torch.device | None) -> torch.device:
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as e:
        raise ConfigError(f"device {device!r} is not accepted; use cpu or cuda[:N]") from e
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device {device!r} is not available here; accepted: cpu")
    return dev


def _check_data(space: SearchSpace, data: Any) -> None:
    args = space.model_args
    got = {"num_classes": data.num_classes, "in_chans": data.in_chans, "input_size": data.image_size}
    for key, value in got.items():
        if args.get(key) != value:
            raise ConfigError(
                f"{space.name}: model.args.{key}={args.get(key)!r} but data set {data.name} gives {value}; "
                f"accepted: {value} (or leave it out to take it from the data)"
            )
