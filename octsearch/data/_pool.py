"""What a source loader returns: raw images and labels, before splitting and normalising."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, eq=False)
class RawPool:
    """Images of one data set as read from disk or a package.

    Attributes:
        images: uint8 ``(N, C, S, S)``; a pixel in ``[0, max_value]``.
        labels: int64 ``(N,)`` in ``[0, len(class_names))``.
        max_value: the value of a white pixel (255 for 8-bit images, 16 for scikit-learn's digits).
        class_names: one name per class index.
        source: where the images come from and how many, for :attr:`ImageDataset.description`.
        val_images, val_labels: a fixed validation set (e.g. CIFAR-10's ``test_batch``); when
            None, validation is a seeded stratified fraction of ``images``.
        val_source: what the fixed validation set is, for the description.
        in_place: the path ``images`` is a read-only memory map of (a prepared set), whose
            splits are read where they are, never copied; None for images in memory.
        rows: with ``in_place``, the rows of ``images`` that are in the pool (``labels`` gives
            their classes).
        stats: with ``in_place``, the normalisation (mean, std) known without a pass over the
            pixels; None: computed from the training split.
    """

    images: np.ndarray
    labels: np.ndarray
    max_value: int
    class_names: tuple[str, ...]
    source: str
    val_images: np.ndarray | None = None
    val_labels: np.ndarray | None = None
    val_source: str = ""
    in_place: str | None = None
    rows: np.ndarray | None = None
    stats: tuple[tuple[float, ...], tuple[float, ...]] | None = None

    @property
    def side(self) -> int:
        return int(self.images.shape[-1])

    @property
    def in_chans(self) -> int:
        return int(self.images.shape[1])
