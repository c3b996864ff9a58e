"""Batches from uint8 images in a seeded order, normalised per batch on the trial's device.

The images stay uint8 where they are (a read-only memory map of a prepared set or of the node's
shared copy, a tensor on the GPU): each batch is gathered (a memory map is read forward, rows
sorted, then put back in the batch's order), copied to the device as uint8 and converted there to float32
``(pixel / max_value - mean) / std`` per channel. No float copy of the whole set is ever made.

The order of an epoch is ``torch.randperm`` drawn from the caller's generator, as the in-memory
training loop draws it; a last batch of one image is dropped (batch norm needs two). With
``prefetch`` a background thread gathers the next batch while the current one trains; the order
and the batches are the same either way. :attr:`BatchReader.wait_seconds` is the time the
consumer spent waiting for batches (gather not hidden by the prefetch, copy, conversion).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np
import torch

Transform = Callable[[torch.Tensor], torch.Tensor]  # float batch in [0, 1] -> same shape
_STATS_CHUNK = 1024  # images per chunk of the statistics pass (uint32 temporaries)


def steps_per_epoch(n: int, batch_size: int) -> int:
    """Batches per epoch; a last batch of one image is dropped (batch norm needs two)."""
    full, rest = divmod(n, batch_size)
    return full + (1 if rest >= 2 else 0)


class BatchReader:
    """Reads ``(inputs, targets)`` batches of ``images[indices]`` with ``labels`` (one per index).

    Args:
        images: uint8 ``(N, C, S, S)``: numpy (memory maps and read-only arrays too) or torch.
        labels: int class of each selected image (``len(indices)``, or ``N`` without indices).
        indices: the rows of ``images`` to read (e.g. a :class:`~octsearch.data.prepared.Selection`
            or a split); default all.
        mean, std: per-channel statistics of pixels scaled to [0, 1].
        device: where batches are converted and returned.
        max_value: the value of a white pixel (255; 16 for scikit-learn's digits).
    """

    def __init__(self, images: np.ndarray | torch.Tensor, labels: np.ndarray | torch.Tensor, *,
                 mean: Sequence[float], std: Sequence[float], indices: np.ndarray | None = None,
                 device: str | torch.device = "cpu", max_value: int = 255,
                 memory_format: torch.memory_format = torch.contiguous_format, prefetch: bool = True) -> None:
        if images.dtype not in (np.uint8, torch.uint8) or images.ndim != 4:
            raise ValueError(f"images must be uint8 (N, C, S, S); got {images.dtype} {tuple(images.shape)}")
        self.images = images
        self.indices = np.arange(len(images), dtype=np.int64) if indices is None else np.asarray(indices, np.int64)
        self.labels = torch.as_tensor(np.asarray(labels), dtype=torch.int64)
        if len(self.labels) != len(self.indices) or len(mean) != images.shape[1] or len(std) != images.shape[1]:
            raise ValueError(f"{len(self.labels)} labels, {len(mean)}/{len(std)} statistics for "
                             f"{len(self.indices)} images of {images.shape[1]} channels")
        self.device = torch.device(device)
        view = (1, -1, 1, 1)
        self._mean = torch.tensor(list(mean), device=self.device).view(view)
        self._std = torch.tensor(list(std), device=self.device).view(view)
        self.max_value, self.memory_format, self.prefetch = max_value, memory_format, prefetch
        self.wait_seconds, self.batches = 0.0, 0

    def __len__(self) -> int:
        return len(self.indices)

    def epoch(self, batch_size: int, generator: torch.Generator,
              transform: Transform | None = None) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """One pass in an order drawn from ``generator``; ``transform`` (e.g. an augmentation)
        gets each float batch in [0, 1] on the device before it is normalised."""
        order = torch.randperm(len(self), generator=generator).numpy()
        steps = steps_per_epoch(len(self), batch_size)
        return self._batches([order[b * batch_size:(b + 1) * batch_size] for b in range(steps)], transform)

    def sequential(self, batch_size: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Every image once, in index order, no transform (validation)."""
        positions = np.arange(len(self))
        return self._batches([positions[s:s + batch_size] for s in range(0, len(self), batch_size)], None)

    def _batches(self, plan: list[np.ndarray], transform: Transform | None) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        pool = ThreadPoolExecutor(1, thread_name_prefix="octsearch-batches") if self.prefetch else None
        try:
            ahead: Future[tuple[torch.Tensor, torch.Tensor]] | None = None
            for b, positions in enumerate(plan):
                start = time.perf_counter()
                raw = ahead.result() if ahead is not None else self._gather(positions)
                if pool is not None and b + 1 < len(plan):
                    ahead = pool.submit(self._gather, plan[b + 1])
                batch = self._convert(raw[0], transform), raw[1].to(self.device, non_blocking=True)
                self.wait_seconds += time.perf_counter() - start
                self.batches += 1
                yield batch
        finally:
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)

    def _gather(self, positions: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        """uint8 images and labels of the batch in the drawn order (a memory map is read in
        ascending row order, then the rows are put back in the batch's order)."""
        rows = self.indices[positions]
        if isinstance(self.images, torch.Tensor):
            raw = self.images.index_select(0, torch.from_numpy(rows).to(self.images.device))
        else:
            forward = np.argsort(rows, kind="stable")
            back = np.empty_like(forward)
            back[forward] = np.arange(len(forward))
            raw = torch.from_numpy(np.ascontiguousarray(self.images[rows[forward]][back]))
        if self.device.type == "cuda" and raw.device.type == "cpu":
            raw = raw.pin_memory()
        return raw, self.labels[torch.from_numpy(positions)]

    def _convert(self, raw: torch.Tensor, transform: Transform | None) -> torch.Tensor:
        # the arithmetic of the float pipeline before it, step for step: the same floats
        x = raw.to(self.device, non_blocking=True).to(torch.float32).mul_(1.0 / self.max_value)
        if transform is not None:
            x = transform(x)
        return x.sub_(self._mean).div_(self._std).contiguous(memory_format=self.memory_format)


def channel_stats(images: np.ndarray | torch.Tensor, indices: np.ndarray | None = None,
                  max_value: int = 255) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Exact per-channel mean and population std of ``images[indices]`` scaled to [0, 1]
    (integer sums over uint8 chunks; no float copy of the set). A constant channel gets std 1."""
    array = images.numpy() if isinstance(images, torch.Tensor) else images
    rows = np.arange(len(array)) if indices is None else np.sort(np.asarray(indices, np.int64))
    s = np.zeros(array.shape[1], dtype=np.uint64)
    q = np.zeros(array.shape[1], dtype=np.uint64)
    for start in range(0, len(rows), _STATS_CHUNK):
        wide = array[rows[start:start + _STATS_CHUNK]].astype(np.uint32)
        s += wide.sum(axis=(0, 2, 3), dtype=np.uint64)
        q += np.square(wide).sum(axis=(0, 2, 3), dtype=np.uint64)
    n = max(len(rows) * array.shape[2] * array.shape[3], 1)
    mean = s.astype(np.float64) / n / max_value
    std = np.sqrt(np.maximum(q.astype(np.float64) / n / max_value**2 - mean**2, 0.0))
    std = np.where(std > 1e-6, std, 1.0)
    return tuple(float(m) for m in mean), tuple(float(v) for v in std)
