"""``run_trial``: one configuration of a space -> trained, evaluated, counted :class:`TrialResult`.

Lifecycle: the configuration (built by the space unless given) -> its FLOPs (cached, before any seeding) -> load the data
set (cached in-process) -> seed, build the model -> train ``epochs`` epochs, evaluating after each
(or only the last) and calling ``on_epoch(epoch, accuracy)`` -> result. The same configuration, seed, budget and
machine give the same accuracy: the initial weights come from ``torch.manual_seed(seed)``, the
batch order from a generator seeded with ``seed``, and deterministic algorithms are switched on
for the trial. Torch's thread count and determinism flags are restored afterwards.
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import torch

from octsearch.configuration import Configuration
from octsearch.errors import ConfigError
from octsearch.spaces.space import SearchSpace
from octsearch.stats import binomial_stderr
from octsearch.trial.evaluate import count_correct, space_latency_ms
from octsearch.trial.result import TrialResult
from octsearch.trial.train import lr_factor, make_optimizer, steps_per_epoch, train_epoch

EpochCallback = Callable[[int, float], None]


def run_trial(
    space: SearchSpace,
    config: Configuration | float | Mapping[str, Any],
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
        config: a Configuration of ``space`` (the search's; its cost, if counted, is used), or
            what :meth:`SearchSpace.configuration` takes: one alpha for every parameter, parameter
            -> alpha, or slot -> alpha.
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
    configuration = space.counted(config if isinstance(config, Configuration) else space.configuration(config))
    spec = space.budget(budget)
    seed = spec.seed if seed is None else seed
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ConfigError(f"seed={seed!r} is not accepted; use an integer >= 0")
    dev = _device(device)
    with _torch_settings(spec.threads, dev):
        data = space.data.load()
        _check_data(space, data)
        from octsearch.core.registry import create_model

        torch.manual_seed(seed)
        # channels-last: about 15-25% less CPU per training step here (measured, width-8 Oct-ResNet-20)
        layout = torch.channels_last if spec.channels_last else torch.contiguous_format
        model = create_model(space.model_name, alphas=configuration.alpha_dict, **space.model_args).to(dev, memory_format=layout)
        trainer = model
        if spec.fast_training and dev.type == "cpu":
            from octsearch.fast import prepare_for_training

            trainer = prepare_for_training(model)  # shares model's parameters and buffers
        optimizer = make_optimizer(model, spec.optimizer)
        total = spec.epochs * steps_per_epoch(data.num_train, spec.batch_size)
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_factor(spec.schedule, total))
        generator = torch.Generator().manual_seed(seed)
        accuracies: list[float] = []
        correct, train_s, eval_s, cpu_s = 0, 0.0, 0.0, 0.0
        for epoch in range(1, spec.epochs + 1):
            start, cpu_start = time.perf_counter(), time.process_time()
            train_epoch(trainer, data.train_x, data.train_y, batch_size=spec.batch_size, optimizer=optimizer,
                        scheduler=scheduler, generator=generator, device=dev, memory_format=layout)
            middle = time.perf_counter()
            cpu_s += time.process_time() - cpu_start
            train_s += middle - start
            if not evaluate_every_epoch and epoch < spec.epochs:
                continue
            correct = count_correct(_evaluator(model, spec.fast_training, dev), data.val_x, data.val_y, dev, layout)
            eval_s += time.perf_counter() - middle
            accuracies.append(correct / data.num_val)
            if on_epoch is not None:
                on_epoch(epoch, accuracies[-1])
        latency = latency_ms
        if latency is None and space.objectives.latency:
            latency = space_latency_ms(space, model, spec.threads)
        threads = torch.get_num_threads()
    accuracy = correct / data.num_val
    return TrialResult(
        configuration=configuration, accuracy=accuracy, correct=correct, n_val=data.num_val,
        accuracy_stderr=binomial_stderr(accuracy, data.num_val), epoch_accuracies=tuple(accuracies),
        train_seconds=train_s, eval_seconds=eval_s, train_cpu_seconds=cpu_s, seed=seed, budget=budget, epochs=spec.epochs,
        device=str(dev), node=socket.gethostname(), torch_threads=threads, latency_ms=latency,
        space_hash=space.hash,
    )


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


@contextlib.contextmanager
def _torch_settings(threads: int, device: torch.device) -> Iterator[None]:
    """Threads and deterministic algorithms for the trial; the caller's settings come back after."""
    old_threads = torch.get_num_threads()
    old_det = torch.are_deterministic_algorithms_enabled()
    old_warn = torch.is_deterministic_algorithms_warn_only_enabled()
    if device.type == "cuda":  # cuBLAS needs this before its first use to be deterministic
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.set_num_threads(threads)
    # warn_only: an operator without a deterministic kernel (some CUDA backward passes) warns, not fails
    torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        yield
    finally:
        torch.set_num_threads(old_threads)
        torch.use_deterministic_algorithms(old_det, warn_only=old_warn)


def _check_data(space: SearchSpace, data: Any) -> None:
    args = space.model_args
    got = {"num_classes": data.num_classes, "in_chans": data.in_chans, "input_size": data.image_size}
    for key, value in got.items():
        if args.get(key) != value:
            raise ConfigError(
                f"{space.name}: model.args.{key}={args.get(key)!r} but data set {data.name} gives {value}; "
                f"accepted: {value} (or leave it out to take it from the data)"
            )
