"""Training-mode batch norm for channels-last maps with few channels.

PyTorch's CPU batch norm vectorises over channels on channels-last tensors, so a map with 4 or 8
channels (a half-width Oct branch of a small proxy network) runs far below memory bandwidth.
Here the channels-last memory ``(N, H, W, C)`` is read as rows of ``L = lcm(C, 16)`` lanes (lane
``j`` holds channel ``j % C``): every reduction and affine map runs on full 16-float vectors, and
per-lane sums fold into per-channel ones. Forward and backward follow ``nn.BatchNorm2d``
exactly (biased variance to normalise, unbiased for the running variance, ``momentum`` or the
cumulative average when it is None).
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor, nn

_LANE_WIDTH = 16  # floats in an AVX-512 register
# Channel counts up to this use the lane kernel (above it PyTorch's own kernel is as fast).
MAX_LANE_CHANNELS = 16


def lanes_of(channels: int) -> int:
    """The lane view's row width for ``channels``: the least multiple of both it and 16 floats."""
    return channels * _LANE_WIDTH // math.gcd(channels, _LANE_WIDTH)


def _rows(x: Tensor, lanes: int) -> Tensor:
    """The channels-last memory of ``x`` as a ``(rows, lanes)`` matrix (a view)."""
    return x.permute(0, 2, 3, 1).reshape(-1, lanes)


def _fold(per_lane: Tensor, channels: int) -> Tensor:
    return per_lane.view(-1, channels).sum(0)


class LaneBatchNorm(torch.autograd.Function):
    """Batch-statistics normalisation over the lane view; returns ``(y, mean, unbiased_var)``.

    Two-pass statistics (mean, then squared deviations) as in PyTorch's kernel; the centred input
    ``d = x - mean`` is saved for the backward instead of ``x`` (same memory).
    """

    @staticmethod
    def forward(ctx: Any, x: Tensor, weight: Tensor, bias: Tensor, eps: float) -> tuple[Tensor, Tensor, Tensor]:
        n, c, h, w = x.shape
        count = n * h * w
        lanes = lanes_of(c)
        rep = lanes // c
        rows = _rows(x, lanes)
        mean = _fold(rows.sum(0), c) / count
        d = rows - mean.repeat(rep)
        var = _fold((d * d).sum(0), c) / count
        invstd = torch.rsqrt(var + eps)
        scale = (weight * invstd).repeat(rep)
        y = torch.empty_like(x, memory_format=torch.channels_last)
        torch.addcmul(bias.repeat(rep), d, scale, out=_rows(y, lanes))
        ctx.save_for_backward(d, weight, invstd)
        ctx.shape = (n, c, h, w)
        ctx.set_materialize_grads(False)
        ctx.mark_non_differentiable(mean, var)
        return y, mean, var * (count / max(count - 1, 1))

    @staticmethod
    def backward(ctx: Any, grad_y: Tensor, _gm: Any, _gv: Any) -> tuple[Tensor, Tensor, Tensor, None]:
        d, weight, invstd = ctx.saved_tensors
        n, c, h, w = ctx.shape
        count = n * h * w
        lanes = d.shape[1]
        rep = lanes // c
        g_rows = _rows(grad_y.contiguous(memory_format=torch.channels_last), lanes)
        sum_g = _fold(g_rows.sum(0), c)
        sum_g_xhat = _fold((g_rows * d).sum(0), c) * invstd  # = d loss / d weight
        # dx = weight * invstd * (g - mean(g) - xhat * mean(g * xhat)) = a * g + b * d + k
        a = weight * invstd
        b = -a * invstd * sum_g_xhat / count
        k = -a * sum_g / count
        grad_x = torch.empty((n, c, h, w), dtype=d.dtype, device=d.device, memory_format=torch.channels_last)
        out = _rows(grad_x, lanes)
        torch.addcmul(k.repeat(rep), d, b.repeat(rep), out=out)
        out.addcmul_(g_rows, a.repeat(rep))
        return grad_x, sum_g_xhat, sum_g, None


def lane_kernel_applies(x: Tensor, bn: nn.BatchNorm2d) -> bool:
    """Whether :func:`batch_norm` takes the lane kernel for ``x``."""
    return (
        x.dim() == 4 and x.device.type == "cpu" and x.dtype in (torch.float32, torch.float64)
        and x.shape[1] <= MAX_LANE_CHANNELS and x.is_contiguous(memory_format=torch.channels_last)
        and (bn.training or not bn.track_running_stats) and x.numel() > 0
        and x.numel() % lanes_of(x.shape[1]) == 0
    )


def batch_norm(x: Tensor, bn: nn.BatchNorm2d) -> Tensor:
    """``bn(x)`` (same output, gradients and running-statistics update), faster for few channels."""
    if not lane_kernel_applies(x, bn):
        return bn(x)
    c = x.shape[1]
    weight = bn.weight if bn.weight is not None else x.new_ones(c)
    bias = bn.bias if bn.bias is not None else x.new_zeros(c)
    y, mean, unbiased_var = LaneBatchNorm.apply(x, weight, bias, bn.eps)
    update_running_stats(bn, mean, unbiased_var)
    return y


def update_running_stats(bn: nn.BatchNorm2d, mean: Tensor, unbiased_var: Tensor) -> None:
    """What ``nn.BatchNorm2d`` does to its running statistics after a training batch."""
    if bn.training and bn.track_running_stats:
        with torch.no_grad():
            bn.num_batches_tracked.add_(1)
            factor = bn.momentum if bn.momentum is not None else 1.0 / float(bn.num_batches_tracked)
            bn.running_mean.lerp_(mean, factor)
            bn.running_var.lerp_(unbiased_var, factor)



