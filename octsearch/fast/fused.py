"""Restructured inference modules: an OctConvBNAct with batch norm folded and fewer kernels.

:class:`FusedOctConv` computes ``act(bn(conv(x)))`` of an eval-mode :class:`OctConvBNAct` (or a bare
:class:`OctConv2d`) with the same (high, low) interface, as:

- the low output as ONE convolution over ``cat[pool(X_H), X_L]`` with ``W[ho:, :]`` (the weight is
  already one tensor over ``[high | low]`` inputs), instead of two convolutions and an add;
- stride 2 with a low input: the high output as one convolution over ``cat[pool(X_H), X_L]`` and
  the low output as one over its pooling (no up-sampling is needed at stride 2);
- the low->high path up-sampled once, then accumulated into by the high->high convolution (a
  oneDNN post-op), with the activation fused;
- batch norm folded into weights and biases;
- each residual block's last convolution adds the shortcut and applies the block's ReLU as
  post-ops (:class:`FusedResidual`);
- eager (``for_compile=False``): every convolution through oneDNN with its weight packed once per
  input shape, the bias, activation and residual / low->high add fused as post-ops; for
  ``torch.compile`` (``for_compile=True``): plain ``F.conv2d`` and adds, which inductor with
  freezing turns into the same packed, fused oneDNN calls.

The modules hold folded copies (buffers): they are for inference and do not train.
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from octsearch.core.layers import (
    OctActivation,
    OctBatchNorm2d,
    OctConv2d,
    OctConvBNAct,
    OctInput,
    OctPair,
    as_pair,
)
from octsearch.core.structure import StructuredBlock
from octsearch.errors import ConfigError
from octsearch.fast.fold import fold_conv_bn
from octsearch.fast.ops import mkldnn_usable, pool2, upsample2

_ACT_KINDS = {nn.ReLU: "relu", nn.ReLU6: "relu6"}
_FUSABLE = (OctConvBNAct, OctConv2d)
# activation kind -> oneDNN post-op (attribute, scalars)
_ONEDNN_ACT: dict[str | None, tuple[str, list[float]]] = {
    None: ("none", []), "relu": ("relu", []), "relu6": ("hardtanh", [0.0, 6.0]),
}


def _activate(y: Tensor, act: str | None) -> Tensor:
    if act is None:
        return y
    return y.relu_() if act == "relu" else F.hardtanh_(y, 0.0, 6.0)


def _act_kind(act: OctActivation | None) -> str | None:
    if act is None:
        return None
    kind = _ACT_KINDS.get(type(act.act))
    if kind is None:  # a model bug, not user input
        raise TypeError(f"unsupported activation {type(act.act).__name__}")
    return kind


class FusedOctConv(nn.Module):
    """Inference-only ``act(bn(conv(x)))`` of an OctConv2d, restructured (see the module docstring)."""

    def __init__(self, conv_: OctConv2d, bn: OctBatchNorm2d | None = None, act: OctActivation | None = None,
                 *, for_compile: bool = False) -> None:
        super().__init__()
        c = conv_
        self.for_compile = for_compile
        # Eager CPU: oneDNN with weights packed once per input shape and the activation fused.
        self.direct_mkldnn = not for_compile and mkldnn_usable()
        self._packed: dict[tuple, Tensor] = {}
        self.hi_in, self.lo_in, self.hi_out, self.lo_out = c.hi_in, c.lo_in, c.hi_out, c.lo_out
        self.stride, self.padding, self.kernel_size = c.stride, c.padding, c.kernel_size
        self.groups = c.groups
        self.act_kind = _act_kind(act)
        weight, bias = fold_conv_bn(c, bn)
        hi, ho = self.hi_in, self.hi_out
        if c.is_plain:
            self.mode = "plain"
            self._add("w", weight, bias)
        elif c.depthwise:
            self.mode = "depthwise"
            self._add("w_h", weight[:ho], bias[:ho])
            self._add("w_l", weight[ho:], bias[ho:])
        elif not self.lo_in:  # alpha 0 -> alpha
            self.mode = "to_oct"
            self._add("w_h", weight[:ho], bias[:ho])
            self._add("w_l", weight[ho:], bias[ho:])
        elif c.stride == 2:  # the inputs are at the same resolution once the high one is pooled
            self.mode = "oct_s2"
            self._add("w_h", weight[:ho], bias[:ho])
            if self.lo_out:
                self._add("w_l", weight[ho:], bias[ho:])
        else:
            self.mode = "oct"
            self._add("w_hh", weight[:ho, :hi], bias[:ho])
            self._add("w_lh", weight[:ho, hi:], None)
            if self.lo_out:
                self._add("w_low", weight[ho:], bias[ho:])

    def _add(self, name: str, weight: Tensor, bias: Tensor | None) -> None:
        self.register_buffer(name, weight.contiguous())
        self.register_buffer(name + "_b", None if bias is None else bias.contiguous())

    def _conv(self, x: Tensor, name: str, groups: int = 1, stride: int = 1, act: str | None = None,
              other: Tensor | None = None, into_other: bool = False) -> Tensor:
        """``act(conv(x, weight name) + other)``; ``into_other``: write the result into ``other``."""
        bias = getattr(self, name + "_b")
        if self.direct_mkldnn and x.device.type == "cpu" and x.dtype == torch.float32:
            packed = self._packed_weight(name, x, groups, stride)
            attr, scalars = _ONEDNN_ACT[act]
            p = self.padding
            args = ([p, p], [stride, stride], [1, 1], groups)
            if other is None:
                return torch.ops.mkldnn._convolution_pointwise(x, packed, bias, *args, attr, scalars, "")
            # oneDNN fuses only ReLU after the add; ReLU6 runs as a separate in-place op.
            unary = "relu" if act == "relu" else None
            if into_other:
                y = torch.ops.mkldnn._convolution_pointwise_.binary(
                    other, x, packed, bias, *args, "add", None, unary, [], "")
            else:
                y = torch.ops.mkldnn._convolution_pointwise.binary(
                    x, other, packed, bias, *args, "add", None, unary, [], "")
            return y if act != "relu6" else _activate(y, act)
        y = F.conv2d(x, getattr(self, name), bias, stride, self.padding, 1, groups)
        if other is not None:
            y = y + other
        return _activate(y, act)

    def _packed_weight(self, name: str, x: Tensor, groups: int, stride: int) -> Tensor:
        # oneDNN's blocked weight layout depends on the input shape: pack once per shape.
        key = (name, tuple(x.shape))
        packed = self._packed.get(key)
        if packed is None:
            p = self.padding
            packed = torch.ops.mkldnn._reorder_convolution_weight(
                getattr(self, name), [p, p], [stride, stride], [1, 1], groups, list(x.shape))
            self._packed[key] = packed
        return packed

    def _apply(self, fn, recurse=True):  # noqa: ANN001, ANN202  (nn.Module's signature)
        self._packed.clear()  # device / memory-format changes invalidate the packed weights
        return super()._apply(fn, recurse)

    def __deepcopy__(self, memo: dict) -> FusedOctConv:
        clone = copy.copy(self)
        memo[id(self)] = clone
        clone.__dict__ = {k: copy.deepcopy(v, memo) for k, v in self.__dict__.items() if k != "_packed"}
        clone._packed = {}
        return clone

    def forward(self, x: OctInput) -> OctPair:
        return self.forward_residual(x, None, self.act_kind)

    def forward_residual(self, x: OctInput, residual: OctPair | None, act: str | None) -> OctPair:
        """``act(conv(x) + residual)`` per branch (``residual`` None: no add), one pass where oneDNN can."""
        x_h, x_l = as_pair(x)
        r_h, r_l = (None, None) if residual is None else residual
        mode, y_l = self.mode, None
        if mode == "plain":
            return self._conv(x_h, "w", self.groups, self.stride, act, r_h), None
        if self.lo_out and (x_h.shape[-1] // self.stride % 2 or x_h.shape[-2] // self.stride % 2):
            side = f"{x_h.shape[-2] // self.stride}x{x_h.shape[-1] // self.stride}"
            raise ConfigError(f"an Oct layer with a low output cannot halve a {side} map; accepted: even "
                              "sides (the input size the model was built for)")
        if mode == "depthwise":
            if self.stride == 2:
                x_h, x_l = pool2(x_h), pool2(x_l)
            return (self._conv(x_h, "w_h", self.hi_out, act=act, other=r_h),
                    self._conv(x_l, "w_l", self.lo_out, act=act, other=r_l))
        if mode == "to_oct":
            if self.stride == 2:
                x_h = pool2(x_h)
            return self._conv(x_h, "w_h", act=act, other=r_h), self._conv(pool2(x_h), "w_l", act=act, other=r_l)
        if mode == "oct_s2":
            x_c = torch.cat([pool2(x_h), x_l], 1)
            if self.lo_out:
                y_l = self._conv(pool2(x_c), "w_l", act=act, other=r_l)
            return self._conv(x_c, "w_h", act=act, other=r_h), y_l
        if self.lo_out:
            y_l = self._conv(torch.cat([pool2(x_h), x_l], 1), "w_low", act=act, other=r_l)
        # low -> high: up-sampled once into a fresh tensor (plus the residual), added by the
        # high->high convolution as a post-op with the activation fused.
        acc = upsample2(self._conv(x_l, "w_lh"))
        if r_h is not None:
            acc.add_(r_h)
        return self._conv(x_h, "w_hh", act=act, other=acc, into_other=True), y_l

    def extra_repr(self) -> str:
        return (f"mode={self.mode}, split_in=({self.hi_in}, {self.lo_in}), split_out=({self.hi_out}, "
                f"{self.lo_out}), kernel_size={self.kernel_size}, stride={self.stride}, act={self.act_kind}")


class FusedResidual(nn.Module):
    """A residual block whose last convolution adds the shortcut (and applies the block's
    activation) as oneDNN post-ops: ``act(body(x) + shortcut(x))``; no shortcut at all when
    ``identity`` is False and ``shortcut`` is None (a plain chain)."""

    def __init__(self, body: list[FusedOctConv], shortcut: FusedOctConv | None, identity: bool,
                 act: str | None) -> None:
        super().__init__()
        self.body = nn.ModuleList(body)
        self.shortcut = shortcut
        self.identity = identity
        self.act_kind = act

    def forward(self, x: OctInput) -> OctPair:
        x = as_pair(x)
        if self.shortcut is not None:
            residual: OctPair | None = self.shortcut(x)
        else:
            residual = x if self.identity else None
        y = x
        for layer in self.body[:-1]:
            y = layer(y)
        last = self.body[-1]
        if residual is None:
            return last(y)
        return last.forward_residual(y, residual, self.act_kind)


def _fuse_block(block: nn.Module, for_compile: bool) -> FusedResidual | None:
    """The fused form of a block that describes itself (:mod:`octsearch.core.structure`) with
    fusable layers only, else None (its children are then fused one by one)."""
    if not isinstance(block, StructuredBlock):
        return None
    s = block.structure()
    layers = (*s.body, *(() if s.shortcut is None else (s.shortcut,)))
    if not all(isinstance(m, _FUSABLE) for m in layers):
        return None
    shortcut = None if s.shortcut is None else _fused(s.shortcut, for_compile)
    body = [_fused(m, for_compile) for m in s.body]
    return FusedResidual(body, shortcut, s.identity, _act_kind(s.act))


def fuse_model(model: nn.Module, *, for_compile: bool = False) -> nn.Module:
    """A copy of ``model`` with every OctConvBNAct / OctConv2d replaced by a :class:`FusedOctConv`
    and every block that describes its structure (:class:`~octsearch.core.structure.StructuredBlock`)
    by a :class:`FusedResidual`.

    The copy is in eval mode; the original is left untouched.
    """
    fused = copy.deepcopy(model).eval()
    if isinstance(fused, _FUSABLE):
        return _fused(fused, for_compile)
    block = _fuse_block(fused, for_compile)
    if block is not None:
        return block
    _swap_children(fused, for_compile)
    return fused


def _fused(module: nn.Module, for_compile: bool) -> FusedOctConv:
    if isinstance(module, OctConvBNAct):
        return FusedOctConv(module.conv, module.bn, module.act, for_compile=for_compile)
    return FusedOctConv(module, for_compile=for_compile)


def _swap_children(module: nn.Module, for_compile: bool) -> None:
    for name, child in module.named_children():
        if isinstance(child, _FUSABLE):
            setattr(module, name, _fused(child, for_compile))
            continue
        block = _fuse_block(child, for_compile)
        if block is not None:
            setattr(module, name, block)
        else:
            _swap_children(child, for_compile)
