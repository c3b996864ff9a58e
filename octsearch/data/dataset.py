"""The value every data set loads into: train and validation tensors kept in memory."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # torch is imported only when a data set is actually loaded
    import torch


@dataclass(frozen=True)
class Normalisation:
    """Per-channel mean and standard deviation of the pixel values (scaled to [0, 1]).

    Computed on the training split only and applied to both splits: a model sees
    ``(pixel / max_value - mean) / std``.
    """

    mean: tuple[float, ...]
    std: tuple[float, ...]


@dataclass(frozen=True, eq=False)
class ImageDataset:
    """A classification data set split into train and validation tensors.

    ``train_x``/``val_x`` are float32 ``(N, C, H, W)`` tensors, already normalised with
    :attr:`normalisation`; ``train_y``/``val_y`` are int64 class indices in
    ``[0, num_classes)``. ``image_size`` is the side of the square images.
    """

    name: str
    train_x: torch.Tensor = field(repr=False)
    train_y: torch.Tensor = field(repr=False)
    val_x: torch.Tensor = field(repr=False)
    val_y: torch.Tensor = field(repr=False)
    num_classes: int
    in_chans: int
    image_size: int
    class_names: tuple[str, ...]
    normalisation: Normalisation
    description: str

    @property
    def num_train(self) -> int:
        return int(self.train_x.shape[0])

    @property
    def num_val(self) -> int:
        return int(self.val_x.shape[0])
