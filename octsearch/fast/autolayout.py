"""``prepare_for_training(layout="auto")``: the training path measured fastest for the shape at hand.

Neither fast layout wins everywhere, and neither always beats the reference forward: the batch-last
C kernels win at small widths and large alphas, oneDNN's channels-last convolutions at wider maps,
and on an AVX2 machine batch-last trained Oct-ResNet-20 at width 1, 32 px, alpha 0 in 1,339 ms
per step against 890 ms for the reference (issue 14). So ``auto`` does not guess: the first training steps of
each (network structure, per-sample input shape, dtype, thread count) run through the candidates
in turn, real steps of the real training, so a measurement costs only what the slower candidates
lose in those steps (one warm-up round, then up to :data:`ROUNDS` timed rounds, clear losers
dropping out; the minimum per candidate is kept, as noise on a shared machine only adds; with one
torch thread the clock is the thread's CPU time, which other processes' preemption leaves alone). Then the fastest trains on. Candidates:
``reference`` (the model's own forward, weights as given), ``channels_last`` and ``batch_last``
(where the C kernels take the batch). Every candidate computes the same outputs and gradients (to
float32 rounding) on the same parameters, so the rotation is training like any other.

The alphas of a search change the split of one network, and where the last :data:`SETTLE`
measured splits of a network all had one clear winner (by more than :data:`CLOSE` over every
other candidate, the reference included), a new split takes it without measuring (:func:`settled`):
a search on the default space measures its first trials only. One split without a clear winner
restarts the count.

A challenger displaces the static default (:func:`static_default`) only when faster by more than
:data:`MARGIN`, so near-ties keep one choice and a fixed-seed run stays reproducible. Decisions
are cached per process: a worker that trains the same configuration again does not measure again;
batches of another size (the short last batch of an epoch) reuse the decision and are not
counted while measuring. Forwards without gradients before a decision, and inputs not on the CPU,
take the static default.

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
ROUNDS = 2  # timed steps per candidate at most, after one warm-up step each
CLOSE = 0.25  # relative: a candidate slower than the best by more than this is timed no more
SETTLE = 3  # decisive measurements of sibling shapes after which a new sibling is not measured
_DECISIONS: dict[tuple, str] = {}
_EVIDENCE: dict[tuple, list[tuple[str, bool]]] = {}  # per sibling group: (winner, decisive) measured


def settled(siblings: tuple) -> str | None:
    """The layout that won each of the last :data:`SETTLE` measurements of sibling shapes (the same
    network and input, another alpha split) by more than :data:`CLOSE` over every other candidate,
    or None: a new sibling then takes it without measuring."""
    recent = _EVIDENCE.get(siblings, [])[-SETTLE:]
    winners = {winner for winner, decisive in recent if decisive}
    if len(recent) == SETTLE and len(winners) == 1 and all(decisive for _, decisive in recent):
        return winners.pop()
    return None


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


class _Rotation:
    """Real training steps through the candidates in turn; a step lasts until the next training
    forward starts (backward, optimizer and data included, alike for every candidate). A warm-up
    round, then :data:`ROUNDS` timed rounds; after each, a candidate more than :data:`CLOSE` slower
    than the best drops out (clear losers cost no more steps). Steps of another batch size run
    but are not counted."""

    def __init__(self, names: list[str], batch: int) -> None:
        self.names, self.batch = names, batch
        self.seconds = dict.fromkeys(names, math.inf)
        self.queue = names + names  # the warm-up round, the first timed round
        self.rounds_left = ROUNDS - 1
        self.warming = len(names)
        self.running: tuple[str, float, bool] | None = None  # candidate, start, counted

    def next(self, now: float, batch: int) -> str | None:
        """Record the step that ends now; the candidate of the next one, or None when done."""
        if self.running is not None and self.running[2]:
            name, start, _ = self.running
            self.seconds[name] = min(self.seconds[name], now - start)
        if not self.queue and self.rounds_left:
            self.rounds_left -= 1
            best = min(self.seconds.values())
            self.queue = [n for n in self.names if self.seconds[n] <= best * (1 + CLOSE)]
            self.queue = self.queue if len(self.queue) > 1 else []
        if not self.queue:
            return None
        name = self.queue.pop(0)
        self.running = (name, now, not self.warming and batch == self.batch)
        self.warming = max(0, self.warming - 1)
        return name


class AutoLayout:
    """A forward pre-hook of the prepared root module: sets every training form's layout (and the
    weights' memory format) before each forward, rotating through the candidates until decided."""

    def __init__(self, root: nn.Module, forms: Sequence[_Form]) -> None:
        self.forms = list(forms)
        self.weights = [p for p in root.parameters() if p.dim() == 4]
        # "reference" and "batch_last" keep the weights' memory format as given
        self.given_cl = [p.is_contiguous(memory_format=torch.channels_last) and not p.is_contiguous()
                         for p in self.weights]
        self.network = (type(root).__name__, tuple(tuple(p.shape) for p in root.parameters()))
        self.split = tuple((f.conv.hi_in, f.conv.hi_out) for f in self.forms)  # what alphas change
        self.current: str | None = None
        self.chosen: str | None = None
        self.rotation: tuple[tuple, _Rotation] | None = None

    def __call__(self, module: nn.Module, args: tuple) -> None:
        now = _clock()
        x = args[0] if args and isinstance(args[0], Tensor) else None
        if x is None or x.device.type != "cpu" or not (module.training and torch.is_grad_enabled()):
            self.apply(self.chosen or static_default(x))
            return
        self.apply(self.layout_for(x, now))

    def siblings(self, x: Tensor) -> tuple:
        """What the shapes of one search share: the network and its input, not the alpha split."""
        return (self.network, tuple(x.shape[1:]), x.dtype, x.is_contiguous(memory_format=torch.channels_last),
                torch.get_num_threads(), native.available())

    def layout_for(self, x: Tensor, now: float) -> str:
        """The decided layout for ``x``'s shape, or the candidate this step measures."""
        siblings = self.siblings(x)
        key = (siblings, self.split)
        if key not in _DECISIONS and settled(siblings) is not None:
            _DECISIONS[key] = settled(siblings)
        if key not in _DECISIONS:
            if self.rotation is None or self.rotation[0] != key:
                self.rotation = (key, _Rotation(self.candidates(x), x.shape[0]))
            name = self.rotation[1].next(now, x.shape[0])
            if name is not None:
                return name
            _DECISIONS[key] = self.decision(self.rotation[1].seconds, x, siblings)
            self.rotation = None
        self.chosen = _DECISIONS[key]
        return self.chosen

    def candidates(self, x: Tensor) -> list[str]:
        return ["reference", "channels_last"] + (["batch_last"] if batchlast.usable(x) else [])

    @staticmethod
    def decision(seconds: dict[str, float], x: Tensor, siblings: tuple) -> str:
        timed = {name: s for name, s in seconds.items() if s < math.inf}
        if not timed:
            return static_default(x)
        best = min(timed.values())
        winner = choose(timed, static_default(x))
        decisive = len(timed) == len(seconds) and all(s > best * (1 + CLOSE) for n, s in timed.items() if n != winner)
        _EVIDENCE.setdefault(siblings, []).append((winner, decisive))
        return winner

    def apply(self, layout: str) -> None:
        if layout == self.current:
            return
        for form in self.forms:
            form.layout = layout
        for p, given_cl in zip(self.weights, self.given_cl, strict=True):
            cl = layout == "channels_last" or given_cl
            p.data = p.data.contiguous(memory_format=torch.channels_last if cl else torch.contiguous_format)
        self.current = layout


def _clock() -> float:
    # One thread: its CPU time, which a shared machine's other processes do not inflate as they
    # do wall-clock time (preemption). Several threads: wall-clock time, as parallelism is the point.
    return time.thread_time() if torch.get_num_threads() == 1 else time.perf_counter()


def measuring(module: nn.Module) -> bool:
    """Whether ``auto`` is still rotating ``module``'s training steps through the candidates."""
    hook = _hook(module)
    return hook is not None and hook.rotation is not None


def _hook(module: nn.Module) -> AutoLayout | None:
    return next((h for h in module._forward_pre_hooks.values() if isinstance(h, AutoLayout)), None)


def layout_of(module: nn.Module) -> str | None:
    """The layout ``auto`` runs ``module`` (a result of ``prepare_for_training``) in; None if fixed."""
    hook = _hook(module)
    return None if hook is None else hook.current
