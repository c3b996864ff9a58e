"""Small tensor helpers shared by the fast inference and training modules."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def pool2(x: Tensor) -> Tensor:
    """2x2 average pooling, stride 2 (the OctConv down-sampling)."""
    return F.avg_pool2d(x, kernel_size=2, stride=2)


def upsample2(x: Tensor) -> Tensor:
    """Nearest 2x up-sampling (``F.interpolate``: its backward is fast, unlike a broadcast add's)."""
    return F.interpolate(x, scale_factor=2.0, mode="nearest")


def mkldnn_usable() -> bool:
    """Whether oneDNN convolutions are available in this torch build."""
    return torch.backends.mkldnn.is_available()
