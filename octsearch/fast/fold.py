"""Batch-norm folding: an OctConv2d followed by an eval-mode OctBatchNorm2d as one weight and bias.

Eval-mode batch norm is a per-channel affine map ``y = x * s + t`` with
``s = gamma / sqrt(running_var + eps)`` and ``t = beta - running_mean * s``; folded into the
convolution it scales each output row of the weight by ``s`` and adds ``t`` to the bias. The
OctConv2d keeps one weight over all outputs (high first, then low), so the per-branch scales
``bn_h`` and ``bn_l`` concatenate in the same order.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from octsearch.core.layers import OctBatchNorm2d, OctConv2d
from octsearch.errors import ConfigError


def _affine(bn: nn.BatchNorm2d) -> tuple[Tensor, Tensor]:
    """``(scale, shift)`` of an eval-mode batch norm."""
    if bn.running_var is None or bn.running_mean is None:
        raise ConfigError(
            "batch norm without running statistics (track_running_stats=False) cannot be folded; "
            "accepted: BatchNorm2d with running statistics"
        )
    scale = torch.rsqrt(bn.running_var.detach().double() + bn.eps)
    if bn.weight is not None:
        scale = scale * bn.weight.detach().double()
    shift = -bn.running_mean.detach().double() * scale
    if bn.bias is not None:
        shift = shift + bn.bias.detach().double()
    return scale, shift


def fold_conv_bn(conv: OctConv2d, bn: OctBatchNorm2d | None) -> tuple[Tensor, Tensor]:
    """Return ``(weight, bias)`` of ``bn(conv(x))`` with ``bn`` in eval mode.

    The weight has ``conv.weight``'s shape; the bias has one entry per output channel (zeros when
    there is neither a conv bias nor a batch norm). Computed in float64, returned in the weight's
    dtype.
    """
    weight = conv.weight.detach().double()
    bias = (conv.bias.detach().double() if conv.bias is not None
            else torch.zeros(conv.out_channels, dtype=torch.float64, device=weight.device))
    if bn is not None:
        parts = [_affine(m) for m in (bn.bn_h, bn.bn_l) if m is not None]
        scale = torch.cat([p[0] for p in parts])
        shift = torch.cat([p[1] for p in parts])
        if scale.numel() != conv.out_channels:
            raise ConfigError(
                f"batch norm over {scale.numel()} channels after a conv with {conv.out_channels} "
                "outputs; accepted: the same channel count"
            )
        weight = weight * scale.view(-1, 1, 1, 1)
        bias = bias * scale + shift
    dtype = conv.weight.dtype
    return weight.to(dtype), bias.to(dtype)
