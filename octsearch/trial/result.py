"""The typed result of one trial."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


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
        alphas: slot -> alpha for every slot of the model (pinned ones at 0).
        params: the configuration (search parameter -> alpha).
        epoch_accuracies: validation accuracy (fraction) after each epoch.
        params_count: trainable parameters.
        budget: ``"proxy"`` or ``"full"``; ``epochs`` the epochs it trained.
        latency_ms: median forward latency at batch 1 in milliseconds, if the space asks for it.
        node: host name of the machine that ran the trial.
        space_hash: SHA-256 of the space file's text.
    """

    alphas: dict[str, float]
    params: dict[str, float]
    accuracy: float
    correct: int
    n_val: int
    accuracy_stderr: float
    epoch_accuracies: tuple[float, ...]
    flops_paper: int
    flops_all: int
    params_count: int
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

    def as_dict(self) -> dict[str, Any]:
        """Plain values only (JSON-ready)."""
        out = asdict(self)
        out["epoch_accuracies"] = list(self.epoch_accuracies)
        return out
