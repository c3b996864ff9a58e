"""A faster training path for proxy trials: the same parameters, a restructured forward.

:func:`prepare_for_training` returns a module that shares every parameter and buffer with the
model it is given (an optimizer built on either trains both; state dicts have the same keys) and
computes the same outputs and gradients (within float32 rounding), faster on CPU:

- each OctConv's low output is ONE convolution over ``cat[pool(X_H), X_L]`` with ``W[ho:, :]``
  (the reference computes two and adds them); at stride 2 with a low input, each output is one
  convolution over ``cat[pool(X_H), X_L]`` (and its pooling);
- channels-last memory for weights and activations;
- batch norm of branches with few channels through a lane-vectorised kernel
  (:mod:`octsearch.core.fast.batchnorm`).

The weight slices are views of the one OctConv2d weight, so gradients land in that parameter.
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn

from octsearch.core.fast.batchnorm import batch_norm
from octsearch.core.fast.ops import pool2, upsample2
from octsearch.core.layers import OctConv2d, OctConvBNAct, OctInput, OctPair, as_pair
from octsearch.errors import ConfigError


def oct_conv_forward(conv: OctConv2d, x: OctInput) -> OctPair:
    """``conv(x)`` computed with the merged low-output convolution (same result as the reference)."""
    if conv.is_plain or conv.depthwise:
        return conv(x)
    x_h, x_l = as_pair(x)
    if conv.lo_in and x_l is None:
        raise ConfigError(f"OctConv2d(alpha_in={conv.alpha_in}) needs a (high, low) pair; got no low part")
    w, hi, ho, p = conv.weight, conv.hi_in, conv.hi_out, conv.padding
    b = conv.bias
    b_h, b_l = (None, None) if b is None else (b[:ho], b[ho:])
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


class TrainOctConvBNAct(nn.Module):
    """The training form of an :class:`OctConvBNAct`: it holds the same ``conv``, ``bn`` and
    ``act`` modules (so the same parameters and state-dict keys) and runs a faster forward."""

    def __init__(self, block: OctConvBNAct, channels_last: bool = True) -> None:
        super().__init__()
        self.conv, self.bn, self.act = block.conv, block.bn, block.act
        self.channels_last = channels_last

    def forward(self, x: OctInput) -> OctPair:
        y_h, y_l = _memory_format(oct_conv_forward(self.conv, x), self.channels_last)
        y_h = batch_norm(y_h, self.bn.bn_h)
        if y_l is not None:
            y_l = batch_norm(y_l, self.bn.bn_l)
        if self.act is not None:
            y_h, y_l = self.act((y_h, y_l))
        return y_h, y_l


class TrainOctConv2d(nn.Module):
    """The training form of a bare :class:`OctConv2d` (same parameter, faster forward)."""

    def __init__(self, conv: OctConv2d, channels_last: bool = True) -> None:
        super().__init__()
        self.conv = conv
        self.channels_last = channels_last

    def forward(self, x: OctInput) -> OctPair:
        return _memory_format(oct_conv_forward(self.conv, x), self.channels_last)


def _memory_format(pair: OctPair, channels_last: bool) -> OctPair:
    # A 1-channel input is NCHW and channels-last at once, and the convolution then picks NCHW:
    # convert once there, a no-op everywhere else.
    if not channels_last:
        return pair
    y_h, y_l = pair
    y_h = y_h.contiguous(memory_format=torch.channels_last)
    return y_h, (None if y_l is None else y_l.contiguous(memory_format=torch.channels_last))


def _swap(module: nn.Module, channels_last: bool) -> nn.Module:
    """A copy of the module tree with training forms swapped in; containers are new objects,
    parameters and buffers the same tensors."""
    if isinstance(module, OctConvBNAct):
        return TrainOctConvBNAct(module, channels_last)
    if isinstance(module, OctConv2d):
        return TrainOctConv2d(module, channels_last)
    clone = copy.copy(module)
    clone._modules = {name: (None if child is None else _swap(child, channels_last))
                      for name, child in module._modules.items()}
    return clone


def prepare_for_training(model: nn.Module, *, channels_last: bool = True) -> nn.Module:
    """Return a module that trains ``model``'s parameters faster on CPU (see the module docstring).

    The result shares every parameter and buffer with ``model``: optimise ``result.parameters()``
    (the same tensors as ``model.parameters()``), then evaluate or save either one. With
    ``channels_last`` the parameters are converted to channels-last memory in place (values are
    unchanged; ``model`` keeps working) and activations are kept channels-last.
    """
    if not isinstance(model, nn.Module):
        raise ConfigError(f"model={type(model).__name__!r}; accepted: a torch.nn.Module")
    if not isinstance(channels_last, bool):
        raise ConfigError(f"channels_last={channels_last!r}; accepted: True or False")
    fast = _swap(model, channels_last)
    if channels_last:
        fast.to(memory_format=torch.channels_last)  # converts the shared tensors in place
    return fast
