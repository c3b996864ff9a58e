"""The totals of :func:`~octsearch.core.flops.count_flops`, without a trace: for screening.

A search counts every configuration its sampler draws before dispatching it. fvcore traces the
model with ``torch.jit`` for that (0.2-0.3 s of CPU for the default space's model here); the
totals alone come from one batch-1 forward pass under a dispatch mode that counts each operator
with fvcore's handle or octsearch's extra ones (see :mod:`octsearch.core.flops`): 0.04 s for that
model on the CPU. A model built on the ``meta`` device runs shapes only (no weights initialised,
no arithmetic): the cheaper way for large inputs (224 px Oct-ResNet-50: 0.25 s, against 0.6 s on
the CPU and 1.1 s through fvcore). The same convention: one fused multiply-add = one FLOP, batch 1,
``flops_paper`` convolutions and fully connected layers, ``flops_all`` every operator.

The count is exact or refused: an operator this module has no rule for raises
:class:`UncountedOperator`, and the caller counts with fvcore instead (which then counts it, or
refuses the total). ``tests/core`` holds both counts equal for every registered family.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode

from octsearch.core.flops import input_shape_of
from octsearch.core.threads import one_torch_thread


class UncountedOperator(Exception):
    """An operator without a rule here (the caller counts with fvcore instead)."""


@dataclass(frozen=True)
class FlopTotals:
    """Multiply-adds of one forward pass at batch 1 (1 fused multiply-add = 1 FLOP), and the
    number of trainable parameters: what :class:`~octsearch.core.flops.FlopCount` holds, without
    the breakdowns."""

    flops_paper: int
    flops_all: int
    param_count: int


def _numel(shape: Sequence[int]) -> int:
    return math.prod(shape)


def _conv(args: Sequence[Any], out: Any) -> int:
    # fvcore's conv_flop_jit: batch x prod(weight shape) x prod(output spatial); bias not counted
    x, w, transposed = args[0], args[1], bool(args[6])
    spatial = (x.shape if transposed else out.shape)[2:]
    return x.shape[0] * _numel(w.shape) * _numel(spatial)


def _addmm(args: Sequence[Any], out: Any) -> int:
    batch, features = args[1].shape
    return batch * features * args[2].shape[1]


def _mm(args: Sequence[Any], out: Any) -> int:
    batch, features = args[0].shape
    return batch * features * args[1].shape[1]


def _batch_norm(args: Sequence[Any], out: Any) -> int:
    # fvcore's batchnorm_flop_jit at inference: 1 per element, 2 with an affine weight
    if _training_flag(args):
        raise UncountedOperator("batch norm in training mode")
    return _numel(args[0].shape) * (2 if args[1] is not None else 1)


def _training_flag(args: Sequence[Any]) -> bool:
    return len(args) > 5 and isinstance(args[5], bool) and args[5]


def _per_input(args: Sequence[Any], out: Any) -> int:
    return _numel(args[0].shape)


def _per_output(args: Sequence[Any], out: Any) -> int:
    return _numel((out[0] if isinstance(out, tuple) else out).shape)


_Rule = Callable[[Sequence[Any], Any], int]
# aten operator (as dispatched) -> (rule, counts in the paper's convention)
_RULES: dict[str, tuple[_Rule, bool]] = {
    "convolution": (_conv, True),
    "addmm": (_addmm, True),
    "mm": (_mm, True),  # a fully connected layer without bias
    "native_batch_norm": (_batch_norm, False),
    "_native_batch_norm_legit_no_training": (_batch_norm, False),
    "upsample_nearest2d": (_per_output, False),
    "avg_pool2d": (_per_input, False),
    "max_pool2d": (_per_input, False),
    "max_pool2d_with_indices": (_per_input, False),
    "add": (_per_output, False),
    "add_": (_per_output, False),
    "relu": (_per_output, False),
    "relu_": (_per_output, False),
    "hardtanh": (_per_output, False),
    "hardtanh_": (_per_output, False),
}
# Operators that fvcore ignores (they move or reshape data), as they reach the dispatcher.
_FREE = frozenset({
    "view", "_unsafe_view", "reshape", "slice", "select", "t", "transpose", "permute", "expand",
    "unsqueeze", "squeeze", "cat", "empty", "zeros", "zeros_like", "clone", "copy_", "_to_copy",
    "detach", "alias", "contiguous", "split", "split_with_sizes", "narrow", "unbind", "stack",
})


class _Counter(TorchDispatchMode):
    """Counts every operator of the forward pass; ``mean`` only inside adaptive average pooling
    (its 1 x 1 form reaches the dispatcher as ``mean``; fvcore counts ``adaptive_avg_pool2d``
    per input element)."""

    def __init__(self) -> None:
        super().__init__()
        self.paper = self.other = 0
        self.in_adaptive_pool = False

    @classmethod
    def _should_skip_dynamo(cls) -> bool:
        # Torch otherwise wraps __torch_dispatch__ in dynamo's disable, which imports dynamo
        # (2-3 s, once per process, in the search driver); nothing here is compiled.
        return False

    def __torch_dispatch__(self, func: Any, types: Any, args: Sequence[Any] = (), kwargs: Any = None) -> Any:
        out = func(*args, **(kwargs or {}))
        name = func.overloadpacket.__name__
        if name in _RULES:
            rule, paper = _RULES[name]
            if paper:
                self.paper += rule(args, out)
            else:
                self.other += rule(args, out)
        elif name in ("mean", "_adaptive_avg_pool2d") and self.in_adaptive_pool:
            self.other += _per_input(args, out)
        elif name not in _FREE:
            raise UncountedOperator(name)
        return out


def count_totals(model: nn.Module, input_size: Any = None) -> FlopTotals:
    """FLOP totals (batch 1, the input size as :func:`~octsearch.core.flops.count_flops` takes it)
    and parameter count of ``model``, on the device of its parameters: build it under
    ``torch.device("meta")`` to count shapes only. Raises :class:`UncountedOperator` where a rule
    is missing."""
    shape = input_shape_of(model, input_size)
    param = next(model.parameters(), None)
    device = param.device if param is not None else torch.device("cpu")
    counter, was_training = _Counter(), model.training
    pools = _pools(model)
    hooks = [m.register_forward_pre_hook(_set_pool(counter, True)) for m in pools]
    hooks += [m.register_forward_hook(_set_pool(counter, False)) for m in pools]
    model.eval()  # batch norm counted at inference, as count_flops does
    try:
        with torch.no_grad(), counter, one_torch_thread():  # batch-1 kernels: see count_flops
            model(torch.zeros(1, *shape, device=device))
    finally:
        model.train(was_training)
        for hook in hooks:
            hook.remove()
    params = sum(p.numel() for p in model.parameters())
    return FlopTotals(counter.paper, counter.paper + counter.other, params)


def _pools(model: nn.Module) -> list[nn.Module]:
    return [m for m in model.modules() if isinstance(m, nn.AdaptiveAvgPool2d)]


def _set_pool(counter: _Counter, inside: bool) -> Callable[..., None]:
    def hook(*_: Any) -> None:
        counter.in_adaptive_pool = inside

    return hook
