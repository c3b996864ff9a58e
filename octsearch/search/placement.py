"""Which device a trial trains on, inside its Ray worker: the GPU Ray gave it, else the CPU.

A trial that asked for no GPU trains on the CPU even where CUDA is present (the user did not ask
for it, and Ray hides the GPUs from it anyway). A trial that was given a GPU but cannot use CUDA
fails with one line, rather than quietly training on the CPU at a fraction of the speed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from octsearch.errors import ClusterError


@dataclass(frozen=True)
class Placement:
    """``device`` for ``run_trial``; ``gpu_ids`` are the ids Ray assigned (empty: none)."""

    device: str
    gpu_ids: tuple[str, ...] = ()

    def __str__(self) -> str:
        return f"{self.device} (Ray GPU {','.join(self.gpu_ids)})" if self.gpu_ids else self.device


def trial_placement() -> Placement:
    """The device of the trial running in this Ray worker (see the module's docstring)."""
    import ray

    ids = tuple(str(i) for i in ray.get_gpu_ids())
    if not ids:
        return Placement("cpu")
    _require_cuda(ids)
    # Ray narrows CUDA_VISIBLE_DEVICES to the trial's GPUs, so its first is cuda:0; the trial
    # trains on one device (more GPUs per trial are reserved, not used in parallel).
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    return Placement("cuda:0" if visible else f"cuda:{ids[0]}", ids)


def _require_cuda(ids: tuple[str, ...]) -> None:
    import socket

    import torch

    if torch.version.cuda is None:
        why = f"torch {torch.__version__} was built without CUDA"
    elif not torch.cuda.is_available() or torch.cuda.device_count() == 0:
        why = f"torch {torch.__version__} sees no CUDA device"
    else:
        return
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    raise ClusterError(f"this trial was given GPU {','.join(ids)} by Ray (CUDA_VISIBLE_DEVICES={visible!r}) on "
                       f"{socket.gethostname()}, but {why}; accepted: nodes whose torch has CUDA and a "
                       "visible GPU, or --gpus-per-trial 0 (train on the CPU)")
