"""Tiny torch work (batch-1 FLOP counts, the search driver's GP fits) on one thread."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator


@contextlib.contextmanager
def one_torch_thread() -> Iterator[None]:
    """For torch work that is tiny (GPSampler's fits, one row per trial; batch-1 FLOP counts):
    more threads only add synchronisation and take cores from the trials beside it, ruinous on a
    loaded machine (GP, 16 suggestions on 2 shared cores: 119 s of sampler time with torch's
    default threads, 24 s with one; a FLOP count 1.9 s against 0.12 s). The caller's setting
    comes back after."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)
