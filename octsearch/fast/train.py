"""A faster training path for proxy trials: the same parameters, a restructured forward.

:func:`prepare_for_training` returns a module that shares every parameter and buffer with the
model it is given (an optimizer built on either trains both; state dicts have the same keys) and
computes the same outputs and gradients (within float32 rounding), faster on CPU. In every layout,
each OctConv's low output is ONE convolution over ``cat[pool(X_H), X_L]`` with ``W[ho:, :]``
(the reference computes two and adds them), and at stride 2 with a low input each output is one
convolution over ``cat[pool(X_H), X_L]`` (and its pooling). The weight slices are views of the
one OctConv2d weight, so gradients land in that parameter. Layouts:

- ``"batch_last"``: activations ``[C][H][W][N]`` in memory and the direct convolutions of
  :mod:`.native` vectorised along the batch (:mod:`.batchlast`); for batches that are a multiple
  of the kernels' vector lanes (16 with AVX-512, 8 otherwise) on CPU in float32 (other batches take the channels-last path);
- ``"channels_last"``: oneDNN convolutions on channels-last memory, batch norm of branches with
  few channels through the lane kernel of :mod:`.batchnorm`;
- ``"auto"`` (default): whichever of the reference forward, channels-last and batch-last trains
  fastest for the shape at hand, measured at the first training step of each shape
  (:mod:`.autolayout`); never a path slower than the reference.
"""

from __future__ import annotations

import collections
import copy

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from octsearch.core.layers import OctConv2d, OctConvBNAct, OctInput, OctPair, as_pair
from octsearch.errors import ConfigError
from octsearch.fast import autolayout, batchlast
from octsearch.fast.batchnorm import batch_norm
from octsearch.fast.ops import pool2, upsample2

LAYOUTS = ("auto", "batch_last", "channels_last")


def _check_pair(conv: OctConv2d, x_l: Tensor | None) -> None:
    if conv.lo_in and x_l is None:
        raise ConfigError(f"OctConv2d(alpha_in={conv.alpha_in}) needs a (high, low) pair; got no low part")


def oct_conv_forward(conv: OctConv2d, x: OctInput) -> OctPair:
    """``conv(x)`` with the merged low-output convolution, on NCHW or channels-last maps."""
    if conv.is_plain or conv.depthwise:
        return conv(x)
    x_h, x_l = as_pair(x)
    _check_pair(conv, x_l)
    w, hi, ho, p = conv.weight, conv.hi_in, conv.hi_out, conv.padding
    b_h, b_l = (None, None) if conv.bias is None else (conv.bias[:ho], conv.bias[ho:])
    y_l = None
    if conv.stride == 2 or not conv.lo_in:
        if conv.stride == 2:
            x_h = pool2(x_h)
        x_c = torch.cat([x_h, x_l], 1) if conv.lo_in else x_h
        y_h = F.conv2d(x_c, w[:ho], b_h, 1, p)
        if conv.lo_out:
            y_l = F.conv2d(pool2(x_c), w[ho:], b_l, 1, p)
        return y_h, y_l
    y_h = F.conv2d(x_h, w[:ho, :hi], b_h, 1, p) + upsample2(F.conv2d(x_l, w[:ho, hi:], None, 1, p))
    if conv.lo_out:
        y_l = F.conv2d(torch.cat([pool2(x_h), x_l], 1), w[ho:], b_l, 1, p)
    return y_h, y_l


def oct_conv_batch_last(conv: OctConv2d, x_h: Tensor, x_l: Tensor | None) -> OctPair:
    """The same on physical batch-last maps ``(C, H, W, N)``; returns physical maps."""
    bl = batchlast
    _check_pair(conv, x_l)
    w, hi, ho, p, b = conv.weight, conv.hi_in, conv.hi_out, conv.padding, conv.bias
    if conv.is_plain:
        return bl.conv(x_h, w, b, conv.stride, p), None
    b_h, b_l = (None, None) if b is None else (b[:ho], b[ho:])
    y_l = None
    if conv.stride == 2 or not conv.lo_in:
        if conv.stride == 2:
            x_h = bl.pool2(x_h)
        x_c = torch.cat([x_h, x_l], 0) if conv.lo_in else x_h
        if conv.lo_out:
            y_l = bl.conv(bl.pool2(x_c), w[ho:], b_l, 1, p)
        return bl.conv(x_c, w[:ho], b_h, 1, p), y_l
    if conv.lo_out:
        y_l = bl.conv(torch.cat([bl.pool2(x_h), x_l], 0), w[ho:], b_l, 1, p)
    y_h = bl.upsample_add_(bl.conv(x_h, w[:ho, :hi], b_h, 1, p), bl.conv(x_l, w[:ho, hi:], None, 1, p))
    return y_h, y_l


def _channels_last(pair: OctPair) -> OctPair:
    # A 1-channel input is NCHW and channels-last at once, and the convolution then picks NCHW:
    # convert once there, a no-op everywhere else.
    y_h, y_l = pair
    y_h = y_h.contiguous(memory_format=torch.channels_last)
    return y_h, (None if y_l is None else y_l.contiguous(memory_format=torch.channels_last))


class TrainOctConv2d(nn.Module):
    """The training form of a bare :class:`OctConv2d` (same parameter, faster forward)."""

    def __init__(self, conv: OctConv2d, layout: str = "channels_last") -> None:
        super().__init__()
        self.conv = conv
        self.layout = layout

    def _batch_last(self, x_h: Tensor) -> bool:
        return self.layout == "batch_last" and not self.conv.depthwise and batchlast.usable(x_h)

    def _conv(self, x: OctInput) -> tuple[OctPair, bool]:
        """The conv output pair and whether it is physical batch-last."""
        x_h, x_l = as_pair(x)
        if self._batch_last(x_h):
            y = oct_conv_batch_last(self.conv, batchlast.physical(x_h),
                                    None if x_l is None else batchlast.physical(x_l))
            return y, True
        y = oct_conv_forward(self.conv, (x_h, x_l))
        return (_channels_last(y) if self.layout != "contiguous" else y), False

    def forward(self, x: OctInput) -> OctPair:
        if self.layout == "reference":  # one of auto's candidates: the model's own forward
            return self.conv(x)
        (y_h, y_l), physical = self._conv(x)
        return _to_logical(y_h, y_l) if physical else (y_h, y_l)


class TrainOctConvBNAct(TrainOctConv2d):
    """The training form of an :class:`OctConvBNAct`: it holds the same ``conv``, ``bn`` and
    ``act`` modules (so the same parameters and state-dict keys) and runs a faster forward."""

    def __init__(self, block: OctConvBNAct, layout: str = "channels_last") -> None:
        super().__init__(block.conv, layout)
        self.bn, self.act = block.bn, block.act

    def forward(self, x: OctInput) -> OctPair:
        if self.layout == "reference":
            x = self.bn(self.conv(x))
            return self.act(x) if self.act is not None else x
        (y_h, y_l), physical = self._conv(x)
        if physical:
            # batch norm and a ReLU in one pass each way
            relu = self.act is not None and isinstance(self.act.act, nn.ReLU)
            y_h = batchlast.batch_norm(y_h, self.bn.bn_h, relu)
            if y_l is not None:
                y_l = batchlast.batch_norm(y_l, self.bn.bn_l, relu)
            if self.act is not None and not relu:
                y_h, y_l = self.act((y_h, y_l))
            return _to_logical(y_h, y_l)
        y_h = batch_norm(y_h, self.bn.bn_h)
        if y_l is not None:
            y_l = batch_norm(y_l, self.bn.bn_l)
        if self.act is not None:
            y_h, y_l = self.act((y_h, y_l))
        return y_h, y_l


def _to_logical(y_h: Tensor, y_l: Tensor | None) -> OctPair:
    return batchlast.logical(y_h), (None if y_l is None else batchlast.logical(y_l))


def _swap(module: nn.Module, layout: str) -> nn.Module:
    """A copy of the module tree with training forms swapped in; containers are new objects,
    parameters and buffers the same tensors."""
    if isinstance(module, OctConvBNAct):
        return TrainOctConvBNAct(module, layout)
    if isinstance(module, OctConv2d):
        return TrainOctConv2d(module, layout)
    clone = copy.copy(module)
    clone._modules = {name: (None if child is None else _swap(child, layout))
                      for name, child in module._modules.items()}
    return clone


def prepare_for_training(model: nn.Module, *, layout: str = "auto") -> nn.Module:
    """Return a module that trains ``model``'s parameters faster on CPU (see the module docstring).

    The result shares every parameter and buffer with ``model``: optimise ``result.parameters()``
    (the same tensors as ``model.parameters()``), then evaluate or save either one. With the
    channels-last layout the parameters are converted to channels-last memory in place (values
    are unchanged; ``model`` keeps working). ``layout="contiguous"`` keeps PyTorch's default
    memory format (the restructured convolutions only).
    """
    if not isinstance(model, nn.Module):
        raise ConfigError(f"model={type(model).__name__!r}; accepted: a torch.nn.Module")
    accepted = (*LAYOUTS, "contiguous")
    if layout not in accepted:
        raise ConfigError(f"layout={layout!r}; accepted: {', '.join(accepted)}")
    fast = _swap(model, autolayout.static_default() if layout == "auto" else layout)
    if layout == "auto":
        _measure_layout(fast)
    elif layout == "channels_last":
        fast.to(memory_format=torch.channels_last)  # converts the shared tensors in place
    return fast


def _measure_layout(fast: nn.Module) -> None:
    # copy.copy shared the hook dict with the original model: give the copy its own
    fast._forward_pre_hooks = collections.OrderedDict(fast._forward_pre_hooks)
    hook = autolayout.AutoLayout(fast, [m for m in fast.modules() if isinstance(m, TrainOctConv2d)])
    hook.apply(hook.forms[0].layout if hook.forms else "channels_last")
    fast.register_forward_pre_hook(hook)
