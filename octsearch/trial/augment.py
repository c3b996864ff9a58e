"""Standard augmentation applied to whole batches of image tensors ``(N, C, H, W)``, on any device.

- ``none``: the batch as it is (the default for digits: ``mnist``, ``digits``).
- ``crop_flip``: a random ``H x W`` crop of the batch zero-padded by ``padding`` px (4) on each
  side, and a horizontal flip with probability ``flip`` (0.5): the CIFAR recipe (``cifar10``,
  ``cifar100``).
- ``rrc_flip``: a random-resized crop (area share drawn from ``scale`` = (0.08, 1), aspect ratio
  log-uniform in ``ratio`` = (3/4, 4/3), up to 10 tries, then the centre crop clamped to the ratio
  range: torchvision's ``RandomResizedCrop`` defaults and sampling), resized bilinearly to the
  input's side, and the flip: the image-folder recipe (``imagefolder``, prepared sets). The crop
  is never larger than the output, so bilinear sampling needs no antialiasing.

Seeded per evaluation: every random number comes from the caller's CPU ``torch.Generator``
(:func:`augment_generator` derives one from a trial seed), drawn in a fixed order, so the same
seed gives the same crops and flips on every device; different seeds differ. Apply it to pixels
scaled to [0, 1] before normalising, so the zero padding is black as in torchvision.
Label smoothing is not an augmentation: it is ``F.cross_entropy(..., label_smoothing=s)``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from octsearch.data.augment_spec import RRC_RATIO, RRC_SCALE, check_augment, default_augment

RRC_TRIES = 10


@dataclass(frozen=True)
class Augment:
    """A named augmentation with its options; call it as ``augment(batch, generator)``."""

    name: str
    options: tuple[tuple[str, Any], ...]
    fn: Callable[..., Tensor]

    def __call__(self, x: Tensor, generator: torch.Generator) -> Tensor:
        if x.ndim != 4:
            raise ValueError(f"augmentation {self.name} needs (N, C, H, W) batches; got {tuple(x.shape)}")
        return self.fn(x, generator, **dict(self.options))

    def bind(self, generator: torch.Generator) -> Callable[[Tensor], Tensor]:
        """The augmentation as a one-argument transform (what :class:`BatchReader` takes)."""
        return lambda x: self(x, generator)

    @property
    def description(self) -> str:
        shown = ", ".join(f"{k}={v}" for k, v in self.options)
        return f"{self.name} ({shown})" if shown else self.name


def no_augment(x: Tensor, generator: torch.Generator) -> Tensor:
    return x


def crop_flip(x: Tensor, generator: torch.Generator, *, padding: int = 4, flip: float = 0.5) -> Tensor:
    """Random crops of the zero-padded batch (one offset per image) and horizontal flips."""
    n, c, h, w = x.shape
    offsets = torch.randint(0, 2 * padding + 1, (n, 2), generator=generator)
    flips = torch.rand(n, generator=generator) < flip
    rows = offsets[:, :1] + torch.arange(h)
    cols = offsets[:, 1:] + torch.arange(w)
    cols = torch.where(flips[:, None], cols.flip(1), cols)  # a flip reads the columns backwards
    padded = F.pad(x, (padding, padding, padding, padding))
    rows = rows.to(x.device)[:, None, :, None].expand(n, c, h, padded.shape[-1])
    cols = cols.to(x.device)[:, None, None, :].expand(n, c, h, w)
    return padded.gather(2, rows).gather(3, cols)


def rrc_boxes(n: int, h: int, w: int, generator: torch.Generator, scale: tuple[float, float] = RRC_SCALE,
              ratio: tuple[float, float] = RRC_RATIO) -> Tensor:
    """``(n, 4)`` crop boxes ``(top, left, height, width)`` in pixels, torchvision's sampling."""
    area = torch.empty(n, RRC_TRIES).uniform_(scale[0], scale[1], generator=generator) * (h * w)
    aspect = torch.exp(torch.empty(n, RRC_TRIES).uniform_(math.log(ratio[0]), math.log(ratio[1]),
                                                          generator=generator))
    cw = torch.round(torch.sqrt(area * aspect))
    ch = torch.round(torch.sqrt(area / aspect))
    fits = (cw >= 1) & (cw <= w) & (ch >= 1) & (ch <= h)
    first = fits.to(torch.int8).argmax(1, keepdim=True)  # the first try that fits
    found = fits.any(1)
    fallback_h, fallback_w = _centre_box(h, w, ratio)
    ch = torch.where(found, ch.gather(1, first)[:, 0], torch.tensor(float(fallback_h)))
    cw = torch.where(found, cw.gather(1, first)[:, 0], torch.tensor(float(fallback_w)))
    u = torch.rand(n, 2, generator=generator)
    top = torch.where(found, torch.floor(u[:, 0] * (h - ch + 1)), torch.floor((h - ch) / 2))
    left = torch.where(found, torch.floor(u[:, 1] * (w - cw + 1)), torch.floor((w - cw) / 2))
    return torch.stack([top.clamp(max=h - ch), left.clamp(max=w - cw), ch, cw], 1)


def _centre_box(h: int, w: int, ratio: tuple[float, float]) -> tuple[int, int]:
    """torchvision's fallback: the whole image, cut to the nearest aspect ratio in range."""
    if w / h < min(ratio):
        return int(round(w / min(ratio))), w
    if w / h > max(ratio):
        return h, int(round(h * max(ratio)))
    return h, w


def rrc_flip(x: Tensor, generator: torch.Generator, *, scale: tuple[float, float] = RRC_SCALE,
             ratio: tuple[float, float] = RRC_RATIO, flip: float = 0.5) -> Tensor:
    """Random-resized crops, resampled bilinearly to the batch's own side, and flips."""
    n, c, h, w = x.shape
    top, left, ch, cw = rrc_boxes(n, h, w, generator, scale, ratio).unbind(1)
    sign = torch.where(torch.rand(n, generator=generator) < flip, -1.0, 1.0)
    theta = torch.zeros(n, 2, 3, dtype=torch.float64)
    theta[:, 0, 0] = sign * cw / w  # output [-1, 1] -> the box's edges, in align_corners=False units
    theta[:, 0, 2] = (2 * left + cw) / w - 1
    theta[:, 1, 1] = ch / h
    theta[:, 1, 2] = (2 * top + ch) / h - 1
    dtype = x.dtype if x.is_floating_point() else torch.float32
    grid = F.affine_grid(theta.to(x.device, dtype), [n, c, h, w], align_corners=False)
    return F.grid_sample(x.to(dtype), grid, mode="bilinear", padding_mode="border", align_corners=False)


# augmentation -> its batched function (options and their checks: data.augment_spec)
AUGMENTS: dict[str, Callable[..., Tensor]] = {"none": no_augment, "crop_flip": crop_flip, "rrc_flip": rrc_flip}


def list_augments() -> list[str]:
    return sorted(AUGMENTS)


def make_augment(name: str, **options: Any) -> Augment:
    """The augmentation ``name`` (see :func:`list_augments`) with ``options`` over its defaults;
    an unknown name or option is a one-line error that lists the choices."""
    merged = check_augment(name, options)
    return Augment(name, tuple(merged.items()), AUGMENTS[name])


def augment_generator(seed: int) -> torch.Generator:
    """A CPU generator for the augmentation of the evaluation with ``seed``: a stream of its
    own (not the batch order's generator, which is seeded with ``seed`` itself)."""
    state = np.random.SeedSequence([seed, 0x617567]).generate_state(1, np.uint64)[0]
    return torch.Generator().manual_seed(int(state) & (2**63 - 1))


def training_augment(dataset: str, name: str | None, options: dict[str, Any]) -> Augment | None:
    """What augments a space's training batches: ``data.augment`` (``name`` null: the data set's
    default); None for ``none``, so unaugmented batches take no extra step at all."""
    chosen = default_augment(dataset) if name is None else name
    return None if chosen == "none" else make_augment(chosen, **options)
