"""``prepare_for_training(layout="auto")``: the training path measured fastest for the shape at hand.

Neither fast layout wins everywhere, and neither always beats the reference forward: the batch-last
C kernels win at small widths and large alphas, oneDNN's channels-last convolutions at wider maps,
and on an AVX2 machine batch-last trained Oct-ResNet-20 at width 1, 32 px, alpha 0 in 1,339 ms
per step against 890 ms for the reference (issue 14). So ``auto`` does not guess: at the first
training forward of each (network structure, per-sample input shape, dtype, thread count), it
runs a forward and backward on that batch through each candidate, interleaved (one warm-up call,
then :data:`ROUNDS` timed calls each, the minimum kept: noise on a shared machine only adds), and
keeps the fastest. Candidates: ``reference`` (the model's own forward, weights as given),
``channels_last`` and ``batch_last`` (where the C kernels take the batch).

The measurement leaves no trace: parameter gradients come from ``torch.autograd.grad`` (nothing
accumulates in ``.grad``), batch-norm statistics and the RNG state are restored, and weight memory
is put back in the winner's format (values unchanged). A challenger displaces the static default
(:func:`static_default`) only when faster by more than :data:`MARGIN`, so near-ties keep one choice
and a fixed-seed run stays reproducible. Decisions are cached per process, so a worker that trains
the same configuration again pays once; later batches of another size (the last, short batch of an
epoch) reuse the decision. Forwards without gradients before any decision, and inputs not on the
CPU, take the static default.

Measured side by side (``bench/train_step.py``, see the docstring of :mod:`octsearch.fast.train`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import Protocol

import torch
from torch import Tensor, nn

from octsearch.fast import batchlast, native

MARGIN = 0.05  # relative: a challenger must beat the default by more than this
ROUNDS = 2  # timed calls per candidate, after one warm-up call each
_DECISIONS: dict[tuple, str] = {}


class _Form(Protocol):
    """A training form (:class:`.train.TrainOctConv2d`): its ``layout`` is switched here."""

    layout: str
    conv: nn.Module


def static_default(x: Tensor | None = None) -> str:
    """The layout taken without a measurement: batch-last where :func:`.native.preferred` and torch
    runs one thread (the kernels are single-threaded) and the batch fits the kernels, else channels-last."""
    fits = x is None or batchlast.usable(x)
    return "batch_last" if native.preferred() and torch.get_num_threads() == 1 and fits else "channels_last"


def choose(seconds: dict[str, float], default: str) -> str:
    """The fastest candidate, unless the default is within :data:`MARGIN` of it."""
    best = min(seconds, key=seconds.__getitem__)
    if default in seconds and seconds[default] <= seconds[best] * (1 + MARGIN):
        return default
    return best


class AutoLayout:
    """A forward pre-hook of the prepared root module: sets every training form's layout (and the
    weights' memory format) to the one decided for the input before the forward runs."""

    def __init__(self, root: nn.Module, forms: Sequence[_Form]) -> None:
        self.root, self.forms = root, list(forms)
        self.weights = [p for p in root.parameters() if p.dim() == 4]
        # "reference" and "batch_last" keep the weights' memory format as given
        self.given_cl = [p.is_contiguous(memory_format=torch.channels_last) and not p.is_contiguous()
                         for p in self.weights]
        self.structure = (type(root).__name__, tuple(tuple(p.shape) for p in root.parameters()),
                          tuple((f.conv.hi_in, f.conv.hi_out) for f in self.forms))
        self.current: str | None = None
        self.chosen: str | None = None

    def __call__(self, module: nn.Module, args: tuple) -> None:
        x = args[0] if args else None
        if not isinstance(x, Tensor) or x.device.type != "cpu":
            self.apply(self.chosen or static_default())
            return
        if module.training and torch.is_grad_enabled():
            self.chosen = self.decide(x)
        self.apply(self.chosen or static_default(x))

    def key(self, x: Tensor) -> tuple:
        return (self.structure, tuple(x.shape[1:]), x.dtype, x.is_contiguous(memory_format=torch.channels_last),
                torch.get_num_threads(), native.available())

    def decide(self, x: Tensor) -> str:
        key = self.key(x)
        if key not in _DECISIONS:
            _DECISIONS[key] = self.measure(x)
        return _DECISIONS[key]

    def candidates(self, x: Tensor) -> list[str]:
        return ["reference", "channels_last"] + (["batch_last"] if batchlast.usable(x) else [])

    def measure(self, x: Tensor) -> str:
        """Time a forward and backward through each candidate (see the module docstring)."""
        params = [p for p in self.root.parameters() if p.requires_grad]
        if not params:
            return static_default(x)
        names = self.candidates(x)
        seconds = dict.fromkeys(names, math.inf)
        with _Untouched(self.root):
            for r in range(1 + ROUNDS):
                for name in names:
                    self.apply(name)
                    start = time.perf_counter()
                    out = self.root.forward(x)  # forward(), not __call__: this hook must not run again
                    torch.autograd.grad(out.sum(), params, allow_unused=True)
                    if r:
                        seconds[name] = min(seconds[name], time.perf_counter() - start)
        return choose(seconds, static_default(x))

    def apply(self, layout: str) -> None:
        if layout == self.current:
            return
        for form in self.forms:
            form.layout = layout
        for p, given_cl in zip(self.weights, self.given_cl, strict=True):
            cl = layout == "channels_last" or given_cl
            p.data = p.data.contiguous(memory_format=torch.channels_last if cl else torch.contiguous_format)
        self.current = layout


class _Untouched:
    """Restores the module's buffers (batch-norm statistics) and the RNG state on exit."""

    def __init__(self, module: nn.Module) -> None:
        self.module = module

    def __enter__(self) -> None:
        self.buffers = [(b, b.detach().clone()) for b in self.module.buffers()]
        self.rng = torch.get_rng_state()

    def __exit__(self, *exc: object) -> None:
        with torch.no_grad():
            for b, saved in self.buffers:
                b.copy_(saved)
        torch.set_rng_state(self.rng)


def layout_of(module: nn.Module) -> str | None:
    """The layout ``auto`` runs ``module`` (a result of ``prepare_for_training``) in; None if fixed."""
    hook = next((h for h in module._forward_pre_hooks.values() if isinstance(h, AutoLayout)), None)
    return None if hook is None else hook.current
