"""Small tensor helpers shared by the fast inference and training modules."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def pool2(x: Tensor) -> Tensor:
    """2x2 average pooling, stride 2 (the OctConv down-sampling)."""
    return F.avg_pool2d(x, kernel_size=2, stride=2)


def upsample2(x: Tensor) -> Tensor:
    """Nearest 2x up-sampling (its backward is fast; used in training)."""
    return F.interpolate(x, scale_factor=2.0, mode="nearest")


def is_channels_last(x: Tensor) -> bool:
    return x.dim() == 4 and x.is_contiguous(memory_format=torch.channels_last)


def upsample_add_(y: Tensor, z: Tensor) -> Tensor:
    """``y += upsample2(z)`` in place, without materialising the up-sampled tensor (inference).

    A broadcast add on a view of ``y`` that exposes each 2x2 block; works for NCHW and
    channels-last ``y``. Returns ``y``.
    """
    n, c, h, w = y.shape
    if is_channels_last(y):
        y.permute(0, 2, 3, 1).view(n, h // 2, 2, w // 2, 2, c).add_(z.permute(0, 2, 3, 1)[:, :, None, :, None, :])
    elif y.is_contiguous():
        y.view(n, c, h // 2, 2, w // 2, 2).add_(z[:, :, :, None, :, None])
    else:  # an unusual layout: the plain way
        y.add_(upsample2(z))
    return y


def conv(x: Tensor, weight: Tensor, bias: Tensor | None, padding: int, groups: int = 1,
         weight_2d: Tensor | None = None, stride: int = 1, direct_mkldnn: bool = False) -> Tensor:
    """Convolution (dilation 1) through the fastest kernel for the situation.

    - ``weight_2d`` (the weight as an ``(out, in)`` matrix, for 1x1 kernels) and a channels-last
      input at stride 1: one matrix product over the ``(N, H, W, C)`` view (inductor pre-packs it);
    - ``direct_mkldnn``: oneDNN directly, for eager CPU float32 (``F.conv2d`` falls back to a slow
      im2col kernel for small maps at batch 1, and oneDNN beats the GEMM for 1x1 kernels in eager);
    - else ``F.conv2d``.
    """
    if weight_2d is not None and stride == 1 and is_channels_last(x):
        # (N, H, W, C) is contiguous in channels-last memory: a 1x1 conv is a GEMM over it.
        return F.linear(x.permute(0, 2, 3, 1), weight_2d, bias).permute(0, 3, 1, 2)
    if direct_mkldnn and x.device.type == "cpu" and x.dtype == torch.float32 and weight.dtype == torch.float32:
        return torch.mkldnn_convolution(x, weight, bias, [padding, padding], [stride, stride], [1, 1], groups)
    return F.conv2d(x, weight, bias, stride, padding, 1, groups)


def mkldnn_usable() -> bool:
    """Whether oneDNN convolutions are available in this torch build."""
    return torch.backends.mkldnn.is_available()
