"""``prepare_for_training(layout="auto")``: the training path measured fastest for the shape at hand.

Neither fast layout wins everywhere, and neither always beats the reference forward: the batch-last
C kernels win at small widths and large alphas, oneDNN's channels-last convolutions at wider maps,
and on an AVX2 machine batch-last trained Oct-ResNet-20 at width 1, 32 px, alpha 0 in 1,339 ms
per step against 890 ms for the reference (issue 14). So ``auto`` does not guess: at
the first training forward of each (network, alpha split, per-sample input shape, dtype, thread
count) it runs a forward and backward on that batch through each candidate: one warm-up round,
then up to :data:`ROUNDS` timed rounds, a candidate more than :data:`CLOSE` slower than the best
timed no more; the minimum per candidate is kept (noise on a shared machine only adds), and with
one torch thread the clock is the thread's CPU time, which other processes' preemption leaves
alone. The fastest then trains. Candidates: ``reference`` (the model's own forward, weights as
given), ``channels_last`` and ``batch_last`` (where the C kernels take the batch).

The measurement leaves no trace: parameter gradients come from ``torch.autograd.grad`` (nothing
accumulates in ``.grad``), batch-norm statistics and the RNG state are restored, and the weights'
memory is put in the winner's format (values unchanged). So a trial's numbers are those of the one
path that trains it (the measuring steps were not training steps through other paths).

The alphas of a search change the split of one network, and where the last :data:`SETTLE`
measured splits of a network all had one clear winner (by more than :data:`CLOSE` over every
other candidate, the reference included), a new split takes it without measuring (:func:`settled`):
a search on the default space measures its first trials only. One split without a clear winner
restarts the count.

Between the fast paths, a challenger displaces the static default (:func:`static_default`) only
when faster by more than :data:`MARGIN`, so near-ties keep one choice and a fixed-seed run stays
reproducible; the reference is taken whenever it measured fastest. Decisions
are cached per process: a worker that trains the same configuration again does not measure again;
batches of another size (the short last batch of an epoch) reuse the decision. Forwards without gradients before a decision, and inputs not on the CPU,
take the static default.

Measured side by side (AVX-512 AMD EPYC, 2 cores shared with other work, load average 8-10, 1
thread; CPU-time medians per training step, so preemption does not count), each line one run of
``python bench/train_step.py --quick --channels-last-path --batch-last-path`` plus the arguments
shown; speed of ``auto`` over the reference at uniform alpha 0 / .25 / .5 / .75, and what it picked
(bl batch-last, cl channels-last):

| arguments | auto x reference | picked | batch-last alone x reference |
| --- | --- | --- | --- |
| ``--width-mult 0.5 --input-size 28 --in-chans 1 --batch 64`` (default space) | 1.34 / 2.35 / 2.30 / 2.34 | bl bl bl bl | 1.26 / 2.47 / 2.72 / 2.38 |
| ``--width-mult 1 --input-size 32 --in-chans 3 --batch 128`` (CIFAR-10 space) | 1.29 / 1.46 / 1.56 / 1.83 | cl cl bl bl | 0.86 / 1.50 / 1.60 / 1.88 |
| ``--width-mult 1 --input-size 16 --in-chans 3 --batch 32 --alphas 0,.5,.75`` | 1.19 / - / 1.58 / 1.61 | cl bl bl | 1.04 / - / 1.34 / 1.51 |
| ``--width-mult 2 --input-size 32 --in-chans 3 --batch 32 --alphas 0,.5`` | 1.18 / - / 1.35 / - | cl cl | 0.74 / - / 1.01 / - |

At the CIFAR-10 width and alpha 0, batch-last alone (the former ``auto`` on this CPU) took 670 ms
against 575 ms for the reference, the issue's slowdown on AVX-512 too; ``auto`` took 445 ms.
Measuring costs a trial about 9 training steps of the default space's model (0.6 CPU-s here, in
its first step), for the first :data:`SETTLE` splits of a network in each worker process.
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
    if len(recent) == SETTLE and all(decisive for _, decisive in recent) and len({w for w, _ in recent}) == 1:
        return recent[0][0]
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
    """The fastest candidate; among the fast paths, the default unless another beats it by more
    than :data:`MARGIN`. The reference wins whenever it measured fastest: never a slower path."""
    best = min(seconds, key=seconds.__getitem__)
    if best != "reference" and default in seconds and seconds[default] <= seconds[best] * (1 + MARGIN):
        return default
    return best


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


class AutoLayout:
    """A forward pre-hook of the prepared root module: sets every training form's layout (and the
    weights' memory format) to the one decided for the input, measuring it first if need be."""

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

    def __call__(self, module: nn.Module, args: tuple) -> None:
        x = args[0] if args and isinstance(args[0], Tensor) else None
        if x is None or x.device.type != "cpu" or not (module.training and torch.is_grad_enabled()):
            self.apply(self.chosen or static_default(x))
            return
        self.apply(self.decide(module, x))

    def siblings(self, x: Tensor) -> tuple:
        """What the shapes of one search share: the network and its input, not the alpha split."""
        return (self.network, tuple(x.shape[1:]), x.dtype, x.is_contiguous(memory_format=torch.channels_last),
                torch.get_num_threads(), native.available())

    def decide(self, root: nn.Module, x: Tensor) -> str:
        siblings = self.siblings(x)
        key = (siblings, self.split)
        if key not in _DECISIONS:
            _DECISIONS[key] = settled(siblings) or self.decision(self.measure(root, x), x, siblings)
        self.chosen = _DECISIONS[key]
        return self.chosen

    def candidates(self, x: Tensor) -> list[str]:
        return ["reference", "channels_last"] + (["batch_last"] if batchlast.usable(x) else [])

    def measure(self, root: nn.Module, x: Tensor) -> dict[str, float]:
        """Seconds of a forward and backward on ``x`` per candidate (see the module docstring)."""
        params = [p for p in root.parameters() if p.requires_grad]
        names = self.candidates(x)
        seconds = dict.fromkeys(names, math.inf)
        with _Untouched(root):
            for r in range(1 + ROUNDS):
                for name in names:
                    self.apply(name)
                    start = _clock()
                    out = root.forward(x)  # forward(), not __call__: this hook must not run again
                    if not (params and isinstance(out, Tensor)):
                        return {}
                    torch.autograd.grad(out.sum(), params, allow_unused=True)
                    seconds[name] = min(seconds[name], _clock() - start) if r else math.inf
                if r:  # clear losers are timed no more
                    names = [n for n in names if seconds[n] <= min(seconds.values()) * (1 + CLOSE)]
                if len(names) == 1:
                    break
        return seconds

    @staticmethod
    def decision(seconds: dict[str, float], x: Tensor, siblings: tuple) -> str:
        if not seconds:
            return static_default(x)
        best = min(seconds.values())
        winner = choose(seconds, static_default(x))
        decisive = all(s > best * (1 + CLOSE) for n, s in seconds.items() if n != winner)
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


def _hook(module: nn.Module) -> AutoLayout | None:
    return next((h for h in module._forward_pre_hooks.values() if isinstance(h, AutoLayout)), None)


def layout_of(module: nn.Module) -> str | None:
    """The layout ``auto`` runs ``module`` (a result of ``prepare_for_training``) in; None if fixed."""
    hook = _hook(module)
    return None if hook is None else hook.current
