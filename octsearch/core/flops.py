"""FLOP counting with fvcore, in two conventions.

We count one fused multiply-add as one FLOP (fvcore's and the paper's convention).

- ``flops_paper``: multiply-adds of convolutions and fully connected layers only (paper, Table 2).
- ``flops_all``: every operator an Oct model emits. Beyond fvcore's own handles (convolution,
  linear, batch norm at inference = 2 per element with affine, nearest upsampling = 1 per output
  element, adaptive average pooling = 1 per input element) we register: average and max pooling =
  1 per input element, residual/path add = 1 per output element,
  ReLU/ReLU6 = 1 per element. An operator without a handle makes the count fail
  (:class:`FlopCountError`) instead of silently dropping it, as fvcore would.

:mod:`octsearch.core.flop_totals` computes the same totals without fvcore's trace (what the
search's FLOPs screen uses); the breakdowns come from here only.
"""

from __future__ import annotations

import math
import warnings
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from octsearch.core.layers import OctConv2d
from octsearch.core.registration import check_input_shape
from octsearch.core.threads import one_torch_thread
from octsearch.errors import ConfigError, FlopCountError

# fvcore's names (by_operator keys) of the operators that make the paper's convention.
PAPER_OPERATORS = frozenset({"conv", "linear", "addmm", "matmul", "mm", "bmm", "einsum"})


def _numel(value: Any) -> int:
    from fvcore.nn.jit_handles import get_shape

    shape = get_shape(value)
    return math.prod(shape) if shape else 1


def _per_output(inputs: list[Any], outputs: list[Any]) -> int:
    return _numel(outputs[0])


def _per_input(inputs: list[Any], outputs: list[Any]) -> int:
    return _numel(inputs[0])


# Operators fvcore ignores or does not know, and how we count them.
EXTRA_HANDLES = {
    "aten::avg_pool2d": _per_input,
    "aten::max_pool2d": _per_input,
    "aten::add": _per_output,
    "aten::add_": _per_output,
    "aten::relu": _per_output,
    "aten::relu_": _per_output,
    "aten::hardtanh": _per_output,
    "aten::hardtanh_": _per_output,
}


@dataclass(frozen=True)
class FlopCount:
    """Multiply-adds of one forward pass at batch 1 (1 fused multiply-add = 1 FLOP).

    Attributes:
        flops_paper: convolutions and fully connected layers (the paper's convention).
        flops_all: every operator (see the module docstring for each operator's count).
        param_count: trainable parameters (their number of elements).
        input_shape: (channels, height, width) of the counted input.
        by_operator: ``flops_all`` split by fvcore operator name.
        per_layer: paper-convention multiply-adds of each convolution / linear layer.
        per_slot: paper-convention multiply-adds of the convolutions writing each alpha slot;
            layers writing no slot (alpha-0 outputs such as the classifier) under ``"(plain)"``.
    """

    flops_paper: int
    flops_all: int
    param_count: int
    input_shape: tuple[int, int, int]
    by_operator: Mapping[str, int] = field(default_factory=dict)
    per_layer: Mapping[str, int] = field(default_factory=dict)
    per_slot: Mapping[str, int] = field(default_factory=dict)


def input_shape_of(model: nn.Module, input_size: int | tuple[int, ...] | None) -> tuple[int, int, int]:
    """(channels, height, width) of the input a count runs: ``input_size`` (a side or a shape) or
    the model's own reference size."""
    args = getattr(model, "model_args", {})
    in_chans = int(args.get("in_chans", 3))
    if input_size is None:
        input_size = args.get("input_size")
    accepted = "a positive side N or (channels, height, width)"
    if isinstance(input_size, int) and not isinstance(input_size, bool) and input_size > 0:
        shape = (in_chans, input_size, input_size)
    elif isinstance(input_size, (tuple, list)) and len(input_size) == 3 and all(
        isinstance(v, int) and v > 0 for v in input_size
    ):
        shape = tuple(input_size)
    else:
        raise ConfigError(f"input_size={input_size!r}; accepted: {accepted}")
    check_input_shape(f"input_size={input_size!r}", shape, accepted)  # type: ignore[arg-type]
    return shape  # type: ignore[return-value]


def count_flops(model: nn.Module, input_size: int | tuple[int, int, int] | None = None) -> FlopCount:
    """Count the multiply-adds of one forward pass of ``model`` at batch 1 with fvcore.

    ``input_size`` is a side N (square input, channels from the model) or (C, H, W); by default the
    model's own reference input size.
    """
    shape = input_shape_of(model, input_size)
    param = next(model.parameters(), None)
    device = param.device if param is not None else torch.device("cpu")
    was_training = model.training
    model.eval()  # batch norm counted at inference
    # One thread: the trace runs tiny batch-1 kernels, and OpenMP threads on a busy machine made
    # a count 15x slower (1.9 s against 0.12 s for the default space's model, measured here).
    try:
        with one_torch_thread():
            by_operator, skipped, by_module = _analyse(model, torch.zeros(1, *shape, device=device))
    finally:
        model.train(was_training)
    if skipped:
        listed = ", ".join(f"{op} x{n}" for op, n in sorted(skipped.items()))
        raise FlopCountError(f"no FLOP handle for operator(s) {listed}; refusing an incomplete total")
    per_layer, per_slot = _breakdown(model, by_module)
    return FlopCount(
        flops_paper=int(sum(v for k, v in by_operator.items() if k in PAPER_OPERATORS)),
        flops_all=int(sum(by_operator.values())),
        param_count=sum(p.numel() for p in model.parameters()),
        input_shape=shape,
        by_operator={k: int(v) for k, v in by_operator.items()},
        per_layer=per_layer,
        per_slot=per_slot,
    )


def _analyse(model: nn.Module, x: torch.Tensor) -> tuple[dict[str, int], Counter, dict[str, Counter]]:
    from fvcore.nn import FlopCountAnalysis

    with warnings.catch_warnings():
        # fvcore traces with torch.jit, which torch marks deprecated; the trace itself is sound.
        warnings.simplefilter("ignore", DeprecationWarning)
        analysis = FlopCountAnalysis(model, x)
        analysis.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
        analysis.tracer_warnings("none")
        # fvcore skips these silently; we count them (see EXTRA_HANDLES). Private, but fvcore is frozen.
        analysis._ignored_ops -= set(EXTRA_HANDLES)
        analysis.set_op_handle(**EXTRA_HANDLES)
        return dict(analysis.by_operator()), analysis.unsupported_ops(), analysis.by_module_and_operator()


def _breakdown(model: nn.Module, by_module: Mapping[str, Counter]) -> tuple[dict[str, int], dict[str, int]]:
    per_layer: dict[str, int] = {}
    per_slot: dict[str, int] = {}
    for name, module in model.named_modules():
        if not isinstance(module, (OctConv2d, nn.Linear)):
            continue
        flops = int(sum(v for k, v in by_module.get(name, {}).items() if k in PAPER_OPERATORS))
        per_layer[name] = flops
        slot = getattr(module, "slot_out", None) or "(plain)"
        per_slot[slot] = per_slot.get(slot, 0) + flops
    return per_layer, per_slot
