"""How a trial trains on its device: precision, kernels' determinism, where the images live.

On the CPU a trial trains in float32 with deterministic algorithms, as it always has: the same
seed gives the same floats. On CUDA it does what fast GPU training needs:

- mixed precision: autocast to bfloat16 where the card has it (``torch.cuda.is_bf16_supported``),
  else float16 with a gradient scaler (``torch.amp.GradScaler``: float16's range is too narrow
  for small gradients);
- cuDNN autotuning (``cudnn.benchmark``) unless ``budget.deterministic`` asks for repeatable
  kernels instead (deterministic algorithms, no autotuning);
- the data set's uint8 images copied to the GPU once per process (when they take at most
  :data:`GPU_DATA_SHARE` of its free memory), so batches are gathered, augmented and normalised
  there; a larger set is read from the node's memory map through pinned memory.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch

from octsearch.data.batches import BatchReader
from octsearch.data.dataset import ImageDataset, Split

GPU_DATA_SHARE = 0.25  # at most this share of the GPU's free memory holds a copy of a split
# (where the images are mapped from, what was selected, split, device) -> uint8 images on the GPU
_ON_GPU: dict[tuple[str, str, str, str], torch.Tensor] = {}


@dataclass(frozen=True)
class Recipe:
    """The device-dependent part of training: autocast dtype (None: float32) and gradient scaling."""

    device: torch.device
    autocast: torch.dtype | None
    scaled: bool  # float16 needs a gradient scaler

    def precision(self) -> contextlib.AbstractContextManager[None]:
        """The autocast region of a forward pass (nothing on the CPU: float32 as before)."""
        if self.autocast is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.autocast)

    def scaler(self) -> torch.amp.GradScaler | None:
        return torch.amp.GradScaler(self.device.type) if self.scaled else None

    @property
    def description(self) -> str:
        if self.autocast is None:
            return "float32"
        return {torch.bfloat16: "bfloat16 autocast", torch.float16: "float16 autocast, scaled gradients"}[self.autocast]


def recipe_for(device: torch.device) -> Recipe:
    """bfloat16 autocast on a CUDA card that has it, float16 with scaling on one that has not,
    float32 on the CPU."""
    if device.type != "cuda":
        return Recipe(device, None, False)
    if torch.cuda.is_bf16_supported():
        return Recipe(device, torch.bfloat16, False)
    return Recipe(device, torch.float16, True)


@contextlib.contextmanager
def kernel_settings(threads: int, device: torch.device, deterministic: bool) -> Iterator[None]:
    """Threads, deterministic algorithms and cuDNN autotuning for the trial; the caller's come back after.

    The CPU is always deterministic. On CUDA, ``deterministic`` picks repeatable kernels (and
    cuBLAS's fixed workspace) over ``cudnn.benchmark``'s autotuned ones.
    """
    old = (torch.get_num_threads(), torch.are_deterministic_algorithms_enabled(),
           torch.is_deterministic_algorithms_warn_only_enabled(),
           torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic)
    repeatable = device.type != "cuda" or deterministic
    if device.type == "cuda" and deterministic:  # cuBLAS needs this before its first use to be deterministic
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.set_num_threads(threads)
    # warn_only: an operator without a deterministic kernel (some CUDA backward passes) warns, not fails
    torch.use_deterministic_algorithms(repeatable, warn_only=True)
    torch.backends.cudnn.benchmark = not repeatable
    torch.backends.cudnn.deterministic = repeatable
    try:
        yield
    finally:
        torch.set_num_threads(old[0])
        torch.use_deterministic_algorithms(old[1], warn_only=old[2])
        torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic = old[3], old[4]


def split_reader(data: ImageDataset, split: str, device: torch.device,
                 memory_format: torch.memory_format) -> BatchReader:
    """A :class:`~octsearch.data.batches.BatchReader` of ``split`` on ``device``; on CUDA the
    images come from the GPU copy when it fits (see the module's docstring)."""
    part = data.train if split == "train" else data.val
    on_gpu = _gpu_images(data, split, part, device) if device.type == "cuda" else None
    if on_gpu is None:
        return data.reader(split, device, memory_format=memory_format)
    norm = data.normalisation
    return BatchReader(on_gpu, part.labels, mean=norm.mean, std=norm.std, device=device,
                       max_value=data.max_value, memory_format=memory_format, prefetch=False)


def device_copy(part: Split, device: torch.device, chunk: int = 4096) -> torch.Tensor:
    """``images[rows]`` of a split as one uint8 tensor on ``device``, in the split's order, copied in
    chunks (each read forward through a memory map, then put in place)."""
    rows = np.arange(len(part.images)) if part.rows is None else part.rows
    out = torch.empty((len(rows), *part.images.shape[1:]), dtype=torch.uint8, device=device)
    for start in range(0, len(rows), chunk):
        block = rows[start:start + chunk]
        order = np.argsort(block, kind="stable")
        out[start + torch.from_numpy(order).to(device)] = torch.from_numpy(
            np.ascontiguousarray(part.images[block[order]])).to(device)
    return out


def _gpu_images(data: ImageDataset, split: str, part: Split, device: torch.device) -> torch.Tensor | None:
    """The split's uint8 images on ``device`` (copied once per process, in chunks), or None if
    they would take more than :data:`GPU_DATA_SHARE` of its free memory."""
    key = (data.shared or str(id(data)), data.description, split, str(device))
    if key in _ON_GPU:
        return _ON_GPU[key]
    free, _ = torch.cuda.mem_get_info(device)
    if part.nbytes > GPU_DATA_SHARE * free:
        return None
    out = device_copy(part, device)
    if len(_ON_GPU) >= 4:  # a worker that moved on to another data set frees the oldest
        _ON_GPU.pop(next(iter(_ON_GPU)))
    _ON_GPU[key] = out
    return out
