"""Octave convolution layers (Chen et al., ICCV 2019).

A feature map travels as a pair ``(high, low)``: ``high`` at full resolution, ``low`` at half
resolution in each side, ``low`` is ``None`` where the tensor's alpha is 0.

:class:`OctConv2d` keeps ONE weight of the shape ``nn.Conv2d`` would have and slices it into the four
paths, so the parameter count never depends on alpha and a plain convolution's state dict loads
into it unchanged. The slicing follows the channel split of :mod:`octsearch.core.split`: the first
``high`` channels of a tensor are its high-frequency part, the last ``low`` its low-frequency part.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from octsearch.core.split import check_alpha, split_channels
from octsearch.errors import ConfigError

OctPair = tuple[Tensor, Tensor | None]
OctInput = Tensor | OctPair


def as_pair(x: OctInput) -> OctPair:
    """Accept a plain tensor (alpha 0) or a ``(high, low)`` pair."""
    if isinstance(x, Tensor):
        return x, None
    return x[0], x[1]


def oct_add(a: OctPair, b: OctPair) -> OctPair:
    """Residual add of two pairs of the same alpha."""
    low = None if a[1] is None else a[1] + b[1]
    return a[0] + b[0], low


def _pool(x: Tensor) -> Tensor:
    return F.avg_pool2d(x, kernel_size=2, stride=2)


def _upsample(x: Tensor) -> Tensor:
    # F.interpolate rather than an in-place broadcast add: its backward is fast (STACK_NOTES).
    return F.interpolate(x, scale_factor=2.0, mode="nearest")


class OctConv2d(nn.Module):
    """Octave convolution with four paths: high->high, high->low, low->low, low->high.

    Stride 2 average-pools the inputs before the convolutions (the official code), except in a
    layer with no low-frequency part at all, which is exactly ``nn.Conv2d`` (strided convolution).
    With stride 2 the low->high path convolves the low input at its own resolution, which is already
    the output's high resolution, so it needs no upsampling. ``groups`` is 1 or depthwise
    (``groups == in_channels == out_channels``, ``alpha_in == alpha_out``), computed branch by branch.

    ``slot_in`` / ``slot_out`` name the alpha slots of the input and output tensors (set by models).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: int = 1,
        padding: int | None = None,
        groups: int = 1,
        bias: bool = False,
        alpha_in: float = 0.0,
        alpha_out: float = 0.0,
        *,
        slot_in: str | None = None,
        slot_out: str | None = None,
    ) -> None:
        super().__init__()
        if stride not in (1, 2):
            raise ConfigError(f"stride={stride!r} is not supported; accepted: 1 or 2")
        if not isinstance(kernel_size, int) or kernel_size < 1:
            raise ConfigError(f"kernel_size={kernel_size!r}; accepted: a positive integer")
        self.alpha_in = check_alpha(alpha_in, "alpha_in")
        self.alpha_out = check_alpha(alpha_out, "alpha_out")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.hi_in, self.lo_in = split_channels(in_channels, alpha_in)
        self.hi_out, self.lo_out = split_channels(out_channels, alpha_out)
        self.depthwise = groups != 1
        if self.depthwise and not (
            groups == in_channels == out_channels and self.lo_in == self.lo_out
        ):
            raise ConfigError(
                f"groups={groups} with in={in_channels}, out={out_channels}, alpha_in={alpha_in}, "
                f"alpha_out={alpha_out}; accepted: groups=1, or depthwise (groups == in == out "
                "channels with alpha_in == alpha_out)"
            )
        self.kernel_size, self.stride, self.groups = kernel_size, stride, groups
        self.padding = (kernel_size - 1) // 2 if padding is None else padding
        self.slot_in, self.slot_out = slot_in, slot_out
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels // groups, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.empty(out_channels)) if bias else None
        self.reset_parameters()

    @property
    def is_plain(self) -> bool:
        """True when neither input nor output has a low-frequency part."""
        return self.lo_in == 0 and self.lo_out == 0

    def reset_parameters(self) -> None:
        # nn.Conv2d's initialisation, so alpha 0 is the plain layer in distribution too.
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in = self.weight.shape[1] * self.kernel_size * self.kernel_size
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            nn.init.uniform_(self.bias, -bound, bound)

    def _subsample_first(self, x: Tensor) -> bool:
        """A strided 1x1 convolution (a shortcut) on a channels-last map with 2 to 7 input channels:
        torch 2.13's CPU backward of that kernel corrupts the heap on AVX2 AMD EPYC machines
        (double free, bus error; 1 and 8+ channels, NCHW and CUDA are fine), so it runs as the
        same sum on every second pixel with stride 1 (the same multiply-adds, exactly)."""
        return (self.kernel_size == 1 and self.stride == 2 and self.padding == 0 and x.device.type == "cpu"
                and 1 < x.shape[1] < 8 and x.is_contiguous(memory_format=torch.channels_last)
                and not x.is_contiguous())

    def _conv(self, x: Tensor, weight: Tensor, groups: int = 1) -> Tensor:
        return F.conv2d(x, weight, None, 1, self.padding, 1, groups)

    def forward(self, x: OctInput) -> OctPair:
        x_h, x_l = as_pair(x)
        if self.lo_in and x_l is None:
            raise ConfigError(f"OctConv2d(alpha_in={self.alpha_in}) needs a (high, low) pair; got no low part")
        if self.is_plain:
            if self._subsample_first(x_h):
                return F.conv2d(x_h[:, :, ::2, ::2], self.weight, self.bias, 1, 0, 1, self.groups), None
            y = F.conv2d(x_h, self.weight, self.bias, self.stride, self.padding, 1, self.groups)
            return y, None
        if self.stride == 2:
            x_h = _pool(x_h)
        if self.lo_out and (x_h.shape[-1] % 2 or x_h.shape[-2] % 2):
            raise ConfigError(
                f"OctConv2d(alpha_out={self.alpha_out}) cannot halve a {x_h.shape[-2]}x{x_h.shape[-1]} "
                "map; accepted: even sides (pin this slot to alpha 0 or use another input size)"
            )
        w, hi, ho = self.weight, self.hi_in, self.hi_out
        if self.depthwise:
            y_h = self._conv(x_h, w[:ho], ho)
            y_l = None
            if self.lo_out:
                y_l = self._conv(_pool(x_l) if self.stride == 2 else x_l, w[ho:], self.lo_out)
        else:
            y_h = self._conv(x_h, w[:ho, :hi])
            y_l = self._conv(_pool(x_h), w[ho:, :hi]) if self.lo_out else None
            if self.lo_in:
                from_low = self._conv(x_l, w[:ho, hi:])
                y_h = y_h + (from_low if self.stride == 2 else _upsample(from_low))
                if self.lo_out:
                    y_l = y_l + self._conv(_pool(x_l) if self.stride == 2 else x_l, w[ho:, hi:])
        if self.bias is not None:
            y_h = y_h + self.bias[:ho].view(1, -1, 1, 1)
            if y_l is not None:
                y_l = y_l + self.bias[ho:].view(1, -1, 1, 1)
        return y_h, y_l

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}, groups={self.groups}, alpha_in={self.alpha_in}, "
            f"alpha_out={self.alpha_out}, split_in=({self.hi_in}, {self.lo_in}), "
            f"split_out=({self.hi_out}, {self.lo_out})"
        )


class OctBatchNorm2d(nn.Module):
    """Batch norm applied to each branch separately."""

    def __init__(self, channels: int, alpha: float = 0.0) -> None:
        super().__init__()
        high, low = split_channels(channels, alpha)
        self.bn_h = nn.BatchNorm2d(high)
        self.bn_l = nn.BatchNorm2d(low) if low else None

    def forward(self, x: OctInput) -> OctPair:
        x_h, x_l = as_pair(x)
        return self.bn_h(x_h), (None if self.bn_l is None else self.bn_l(x_l))


_ACTIVATIONS = {"relu": nn.ReLU, "relu6": nn.ReLU6}


class OctActivation(nn.Module):
    """An elementwise activation applied to each branch."""

    def __init__(self, kind: str = "relu") -> None:
        super().__init__()
        if kind not in _ACTIVATIONS:
            raise ConfigError(f"activation {kind!r}; accepted: {', '.join(_ACTIVATIONS)}")
        self.act = _ACTIVATIONS[kind](inplace=True)

    def forward(self, x: OctInput) -> OctPair:
        x_h, x_l = as_pair(x)
        return self.act(x_h), (None if x_l is None else self.act(x_l))


class OctConvBNAct(nn.Module):
    """OctConv2d -> per-branch batch norm -> per-branch activation (``act=None``: no activation)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: int = 1,
        groups: int = 1,
        alpha_in: float = 0.0,
        alpha_out: float = 0.0,
        act: str | None = "relu",
        *,
        slot_in: str | None = None,
        slot_out: str | None = None,
    ) -> None:
        super().__init__()
        self.conv = OctConv2d(
            in_channels, out_channels, kernel_size, stride, groups=groups,
            alpha_in=alpha_in, alpha_out=alpha_out, slot_in=slot_in, slot_out=slot_out,
        )
        self.bn = OctBatchNorm2d(out_channels, alpha_out)
        self.act = OctActivation(act) if act else None

    def forward(self, x: OctInput) -> OctPair:
        x = self.bn(self.conv(x))
        return self.act(x) if self.act is not None else x
