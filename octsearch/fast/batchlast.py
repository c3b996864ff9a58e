"""Training ops on batch-innermost ("batch-last") maps: memory ``[C][H][W][N]``.

Modules pass tensors of logical shape ``(N, C, H, W)`` whose memory is batch-last (a permuted
view); these helpers work on the physical ``(C, H, W, N)`` view. With the batch innermost, every
operation of a small proxy network vectorises along the batch whatever its channel count: the
direct convolutions of :mod:`.native`, batch norm as row reductions over ``C`` rows, pooling and
up-sampling as adds of whole batch vectors, concatenation along channels as a block copy.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from octsearch.fast import native
from octsearch.fast.batchnorm import update_running_stats


def usable(x: Tensor) -> bool:
    """Whether a batch can take the batch-last kernels (CPU float32, batch a multiple of
    :func:`.native.lanes`: 16 with AVX-512, else 8)."""
    return (x.device.type == "cpu" and x.dtype == torch.float32 and x.dim() == 4 and x.shape[0] > 0
            and native.available() and x.shape[0] % native.lanes() == 0)


def physical(x: Tensor) -> Tensor:
    """The ``(C, H, W, N)`` view of a logical ``(N, C, H, W)`` tensor, copied once if needed."""
    return x.permute(1, 2, 3, 0).contiguous()


def logical(x: Tensor) -> Tensor:
    """The logical ``(N, C, H, W)`` view of a physical ``(C, H, W, N)`` tensor."""
    return x.permute(3, 0, 1, 2)


class _Conv(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: Tensor, weight: Tensor, stride: int, padding: int) -> Tensor:
        ctx.save_for_backward(x, weight)
        ctx.conf = (stride, padding)
        return native.conv_forward(x, weight.detach(), stride, padding)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor | None, Tensor | None, None, None]:
        x, weight = ctx.saved_tensors
        stride, padding = ctx.conf
        grad = grad.contiguous()
        gx = gw = None
        if ctx.needs_input_grad[0]:
            gx = native.conv_backward_data(grad, weight.detach(), x.shape[1], x.shape[2], stride, padding)
        if ctx.needs_input_grad[1]:
            gw = native.conv_backward_weight(x, grad, weight.shape[-1], stride, padding)
        return gx, gw, None, None


def conv(x: Tensor, weight: Tensor, bias: Tensor | None = None, stride: int = 1, padding: int = 0) -> Tensor:
    """Convolution (groups 1) of a physical map; ``weight`` is ``(Co, Ci, K, K)`` (any memory format)."""
    if weight.dtype != torch.float32:
        raise TypeError(f"batch-last convolutions take float32 weights, got {weight.dtype}")
    y = _Conv.apply(x, weight, stride, padding)
    return y if bias is None else y + bias.view(-1, 1, 1, 1)


class _Pool2(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: Tensor) -> Tensor:
        return native.sum4(x, 0.25)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Tensor:
        return native.spread4(grad.contiguous(), 0.25)


class _Upsample2(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: Tensor) -> Tensor:
        return native.spread4(x, 1.0)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Tensor:
        return native.sum4(grad.contiguous(), 1.0)


class _UpsampleAdd(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, y: Tensor, z: Tensor) -> Tensor:
        ctx.mark_dirty(y)
        return native.spread4(z, 1.0, into=y)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, Tensor]:
        return grad, native.sum4(grad.contiguous(), 1.0)


def pool2(x: Tensor) -> Tensor:
    """2x2 average pooling, stride 2."""
    return _Pool2.apply(x)


def upsample2(x: Tensor) -> Tensor:
    """Nearest 2x up-sampling."""
    return _Upsample2.apply(x)


def upsample_add_(y: Tensor, z: Tensor) -> Tensor:
    """``y += upsample2(z)`` in place, in one pass (``y`` must not be needed by its own backward,
    as a convolution output is not)."""
    return _UpsampleAdd.apply(y, z)


class _BatchNorm(torch.autograd.Function):
    """Batch-statistics normalisation (and ReLU) of a physical map, one row of ``H*W*N`` per
    channel; returns ``(y, mean, unbiased_var)``. Saves the input and the output."""

    @staticmethod
    def forward(ctx: Any, x: Tensor, weight: Tensor, bias: Tensor, eps: float,
                relu: bool) -> tuple[Tensor, Tensor, Tensor]:
        count = x.numel() // x.shape[0]
        mean, var = native.bn_stats(x)
        invstd = torch.rsqrt(var + eps)
        scale = weight.detach() * invstd
        y = native.bn_apply(x, scale, bias.detach() - mean * scale, relu)
        # y is read back only as the ReLU mask; without ReLU an in-place activation may follow
        ctx.save_for_backward(x, y if relu else x, weight, mean, invstd)
        ctx.relu = relu
        ctx.set_materialize_grads(False)
        ctx.mark_non_differentiable(mean, var)
        return y, mean, var * (count / max(count - 1, 1))

    @staticmethod
    def backward(ctx: Any, grad_y: Tensor, _gm: Any, _gv: Any) -> tuple[Tensor, Tensor, Tensor, None, None]:
        x, y, weight, mean, invstd = ctx.saved_tensors
        count = x.numel() // x.shape[0]
        g = grad_y.contiguous()
        sum_g, sum_gd = native.bn_grad_sums(g, y, x, mean, ctx.relu)
        sum_g_xhat = sum_gd * invstd  # = d loss / d weight
        # dx = weight * invstd * (g - mean(g) - xhat * mean(g * xhat)) = a * g + b * (x - mean) + k
        a = weight.detach() * invstd
        b = -a * invstd * sum_g_xhat / count
        k = -a * sum_g / count
        grad_x = native.bn_grad_input(g, y, x, mean, a, b, k, ctx.relu)
        return grad_x, sum_g_xhat, sum_g, None, None


def batch_norm(x: Tensor, bn: nn.BatchNorm2d, relu: bool = False) -> Tensor:
    """``bn`` (then ReLU if ``relu``) on a physical map: the same outputs, gradients and
    running-statistics update as ``nn.BatchNorm2d``."""
    if not (bn.training or not bn.track_running_stats):
        scale = bn.running_var.add(bn.eps).rsqrt()
        if bn.weight is not None:
            scale = scale * bn.weight
        shift = -bn.running_mean * scale
        if bn.bias is not None:
            shift = shift + bn.bias
        y = torch.addcmul(shift.view(-1, 1, 1, 1), x, scale.view(-1, 1, 1, 1))
        return y.relu_() if relu else y
    c = x.shape[0]
    weight = bn.weight if bn.weight is not None else x.new_ones(c)
    bias = bn.bias if bn.bias is not None else x.new_zeros(c)
    y, mean, unbiased_var = _BatchNorm.apply(x, weight, bias, bn.eps, relu)
    update_running_stats(bn, mean, unbiased_var)
    return y
