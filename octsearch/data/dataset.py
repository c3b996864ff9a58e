"""The value every data set loads into: uint8 train and validation splits, normalised per batch.

No float copy of a whole split is kept: a trial reads batches through :meth:`ImageDataset.reader`
(:class:`~octsearch.data.batches.BatchReader`), which converts each batch on the trial's device.
The images of a split are a uint8 array: in memory, a read-only memory map of the node's shared
copy (:mod:`octsearch.data.shared`), or a prepared set's own file read in place.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # torch is imported only when batches are read
    import torch

    from octsearch.data.batches import BatchReader

_COPY_BATCH = 4096  # images per batch when a float copy is asked for


@dataclass(frozen=True)
class Normalisation:
    """Per-channel mean and standard deviation of the pixel values (scaled to [0, 1]).

    Computed on the training split only and applied to both splits: a model sees
    ``(pixel / max_value - mean) / std``.
    """

    mean: tuple[float, ...]
    std: tuple[float, ...]


@dataclass(frozen=True, eq=False)
class Split:
    """One split: ``images[rows]`` (all rows, in order, when ``rows`` is None) with ``labels``.

    ``images`` is uint8 ``(N, C, S, S)``; ``labels`` int64, one per selected row, in
    ``[0, num_classes)``.
    """

    images: np.ndarray = field(repr=False)
    labels: np.ndarray = field(repr=False)
    rows: np.ndarray | None = field(default=None, repr=False)

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def nbytes(self) -> int:
        """Bytes of this split's uint8 images."""
        return len(self) * int(np.prod(self.images.shape[1:]))


@dataclass(frozen=True, eq=False)
class ImageDataset:
    """A classification data set split into train and validation uint8 images.

    ``image_size`` is the side of the square images (px); ``max_value`` the value of a white
    pixel (255; 16 for scikit-learn's digits); ``shared`` the file the images are mapped from
    (the node's copy or a prepared set), None while they are in this process's memory.
    """

    name: str
    train: Split
    val: Split
    num_classes: int
    in_chans: int
    image_size: int
    class_names: tuple[str, ...]
    normalisation: Normalisation
    description: str
    max_value: int = 255
    shared: str | None = None

    @property
    def num_train(self) -> int:
        return len(self.train)

    @property
    def num_val(self) -> int:
        return len(self.val)

    @property
    def nbytes(self) -> int:
        """Bytes of the uint8 images of both splits."""
        return self.train.nbytes + self.val.nbytes

    def reader(self, split: str, device: str | torch.device = "cpu", **kwargs: object) -> BatchReader:
        """Batches of ``"train"`` or ``"val"``, normalised on ``device`` (BatchReader's options)."""
        from octsearch.data.batches import BatchReader

        part = self.train if split == "train" else self.val
        mean, std = self.normalisation.mean, self.normalisation.std
        return BatchReader(part.images, part.labels, mean=mean, std=std, indices=part.rows,
                           device=device, max_value=self.max_value, **kwargs)  # type: ignore[arg-type]

    # float copies, for inspection and small sets (trials never make them)

    @property
    def train_x(self) -> torch.Tensor:
        return self._floats("train")

    @property
    def val_x(self) -> torch.Tensor:
        return self._floats("val")

    @property
    def train_y(self) -> torch.Tensor:
        import torch

        return torch.from_numpy(self.train.labels)

    @property
    def val_y(self) -> torch.Tensor:
        import torch

        return torch.from_numpy(self.val.labels)

    def _floats(self, split: str) -> torch.Tensor:
        import torch

        return torch.cat([x for x, _ in self.reader(split, prefetch=False).sequential(_COPY_BATCH)])
