"""The typed result of one trial."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from octsearch.configuration import Configuration


class StopTrial(Exception):  # noqa: N818 (a signal, not an error)
    """Raise from an ``on_epoch`` callback to stop a trial early (pruning); it propagates out of
    :func:`~octsearch.trial.run.run_trial` unchanged, with no result."""


@dataclass(frozen=True)
class TrialResult:
    """One trained and evaluated configuration.

    Accuracy is the fraction of the validation split classified correctly after the last epoch;
    ``accuracy_stderr`` is its binomial standard error ``sqrt(p (1 - p) / n_val)``. FLOPs are
    multiply-adds of one forward pass at batch 1 (1 fused multiply-add = 1 FLOP): ``flops_paper``
    counts convolutions and fully connected layers, ``flops_all`` every operator. Seconds are wall
    time on ``device``; ``train_cpu_seconds`` is the CPU time of the process while training (on a
    shared machine it moves less than wall time: with one torch thread it is the training work).

    Attributes:
        configuration: what was trained, with its cost counted.
        epoch_accuracies: validation accuracy (fraction) after each epoch.
        budget: ``"proxy"`` or ``"full"``; ``epochs`` the epochs it trained.
        latency_ms: median forward latency at batch 1 in milliseconds, if the space asks for it.
        node: host name of the machine that ran the trial.
        space_hash: SHA-256 of the space file's text.
        data_wait_seconds: wall seconds of ``train_seconds`` spent waiting for training batches
            (gather not hidden by the prefetch, copy, conversion, augmentation).
        precision: the arithmetic of training (``float32``; on CUDA an autocast dtype).
    """

    configuration: Configuration
    accuracy: float
    correct: int
    n_val: int
    accuracy_stderr: float
    epoch_accuracies: tuple[float, ...]
    train_seconds: float
    eval_seconds: float
    train_cpu_seconds: float
    seed: int
    budget: str
    epochs: int
    device: str
    node: str
    torch_threads: int
    latency_ms: float | None = None
    space_hash: str = ""
    data_wait_seconds: float = 0.0
    precision: str = "float32"

    @property
    def flops_paper(self) -> int:
        return self.configuration.counted.flops_paper

    @property
    def flops_all(self) -> int:
        return self.configuration.counted.flops_all

    @property
    def param_count(self) -> int:
        return self.configuration.counted.param_count

    def as_dict(self) -> dict[str, Any]:
        """Plain values only (JSON-ready); the configuration as :meth:`Configuration.to_json`."""
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["configuration"] = self.configuration.to_json()
        out["epoch_accuracies"] = list(self.epoch_accuracies)
        out.update(flops_paper=self.flops_paper, flops_all=self.flops_all, param_count=self.param_count)
        return out
