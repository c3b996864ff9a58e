"""Scoring that shares work across configurations: one layer's work once per distinct prefix.

A supernet's forward pass is a chain of steps (the stem, each layer of each block, the head).
What a step computes depends only on the alphas of the slots it and the steps before it read, so
two configurations that agree on those slots have the same activations there, for the calibration
images (training-mode batch norm normalises with the batch's own statistics) and, once those
statistics are set, for the validation images too. Scored in the order of their slots' first use,
consecutive configurations share their longest common prefix: each step recalibrates its own
batch norms and forwards both image sets once per distinct prefix, from the cached outputs of the
step before, not once per configuration. The operations and batches are the unshared path's, so
the scores are the same numbers (the tests hold them equal).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from octsearch.configuration import Configuration
from octsearch.core.layers import OctConv2d, as_pair, oct_add
from octsearch.core.models._staged import StagedNet
from octsearch.core.structure import StructuredBlock
from octsearch.supernet.switchable import Supernet, SwitchableBatchNorm

Batches = list  # of a step's outputs, one per batch (a tensor or a (high, low) pair)


@dataclass
class Step:
    """One link of the chain: what it computes from the previous link's output (``run``), the
    modules that run it, the batch norms in them, and the searched slots that it and every step
    before it read (what its output depends on)."""

    run: Callable[[object], object]
    modules: list[nn.Module]
    norms: list[SwitchableBatchNorm]
    slots: tuple[str, ...]

    def mode(self, training: bool) -> None:
        for module in self.modules:
            module.train(training)


def forward_steps(supernet: Supernet) -> list[Step]:
    """The model's forward pass as a chain of steps: a :class:`StagedNet`'s children in order, its
    stages opened into their blocks, and a block that describes itself (:class:`StructuredBlock`)
    opened into its layers, the block input carried beside them to the residual add (every shipped
    family runs exactly that chain; the tests hold each to its model's output); any other model is
    one step (nothing shared)."""
    model = supernet.model
    if isinstance(model, StagedNet):
        links: list[tuple[Callable, list[nn.Module]]] = []
        for name, child in model.named_children():
            for module in (child.children() if name in model.stage_names else [child]):
                links.extend(_block_links(module))
    else:
        links = [(model, [model])]
    steps, seen = [], []
    for run, modules in links:
        for module in modules:
            for conv in (m for m in module.modules() if isinstance(m, OctConv2d)):
                for slot in (conv.slot_in, conv.slot_out):
                    if slot in supernet.grid and len(supernet.grid[slot]) > 1 and slot not in seen:
                        seen.append(slot)
        norms = [m for module in modules for m in module.modules() if isinstance(m, SwitchableBatchNorm)]
        steps.append(Step(run, modules, norms, tuple(seen)))
    return steps


def _block_links(module: nn.Module) -> list[tuple[Callable, list[nn.Module]]]:
    """A structured block's layers as links (``BlockStructure.run``, taken apart): each body layer
    but the last carries ``(block input, output so far)``; the last adds the residual."""
    if not isinstance(module, StructuredBlock):
        return [(module, [module])]
    block = module.structure()
    if len(block.body) == 1:
        return [(module, [module])]
    first, *middle, last = block.body
    tail = [m for m in (last, block.shortcut, block.act) if m is not None]

    def finish(state: tuple) -> object:
        x, y = state
        y = last(y)
        residual = block.shortcut(x) if block.shortcut is not None else (x if block.identity else None)
        if residual is None:
            return y
        y = oct_add(y, residual)
        return y if block.act is None else block.act(y)

    def start(x: object) -> tuple:
        x = as_pair(x)
        return x, first(x)

    links = [(start, [first])]
    links += [((lambda state, layer=layer: (state[0], layer(state[1]))), [layer]) for layer in middle]
    return [*links, (finish, tail)]


def run_steps(steps: Sequence[Step], x: Tensor) -> Tensor:
    """The supernet's forward pass, step by step (equal to ``supernet(x)``)."""
    for step in steps:
        x = step.run(x)
    return x


def prefix_order(steps: Sequence[Step], configurations: Sequence[Configuration]) -> list[int]:
    """Indices of ``configurations`` sorted by their alphas in the order the slots are first read,
    so configurations sharing a prefix are consecutive."""
    slots = steps[-1].slots if steps else ()
    return sorted(range(len(configurations)),
                  key=lambda i: tuple(configurations[i].by_slot.get(s, 0.0) for s in slots))


@torch.no_grad()
def score_shared(supernet: Supernet, configurations: Sequence[Configuration], calibration: list[Tensor] | None,
                 val_batches: Sequence[tuple[Tensor, Tensor]], precision: Callable[[], object],
                 ) -> list[tuple[int, float]]:
    """(correct, seconds) per configuration, in the order given: batch norm recalibrated on
    ``calibration`` (None: the supernet's switchable statistics), then the validation batches
    (inputs, labels) in eval mode. A configuration's seconds are the wall time of the steps it
    computed (a shared prefix is billed to the first configuration that computed it).

    Two walks over the configurations in prefix order: the first recalibrates each step once per
    distinct prefix and keeps its statistics (a few numbers per channel); the second forwards one
    validation batch at a time, so the cached activations are one batch's, at most one per slot.
    The supernet's running statistics are overwritten (pass a copy to keep its own).
    """
    steps = forward_steps(supernet)
    order = prefix_order(steps, configurations)
    if calibration is not None:
        calibration = [supernet.prepare(x) for x in calibration]
    val_batches = [(supernet.prepare(x), y) for x, y in val_batches]
    seconds = [0.0] * len(configurations)
    stats: dict[tuple[int, tuple], list[tuple[Tensor, Tensor]]] = {}
    if calibration is not None:
        last_norm = max((i for i, s in enumerate(steps) if s.norms), default=-1)

        def calibrate(i: int, key: tuple, batches: Batches) -> Batches:
            out = _calibrate(steps[i], batches, precision)
            stats[i, key] = [(n.running_mean[n.index].clone(), n.running_var[n.index].clone()) for n in steps[i].norms]
            return out

        for _ in _walk(supernet, steps[:last_norm + 1], configurations, order, calibration, calibrate, seconds):
            pass
    correct = [0] * len(configurations)

    def validate(i: int, key: tuple, x: Tensor) -> Tensor:
        if stats and steps[i].norms:
            for norm, (mean, var) in zip(steps[i].norms, stats[i, key], strict=True):
                norm.running_mean[norm.index].copy_(mean)
                norm.running_var[norm.index].copy_(var)
        steps[i].mode(False)
        with precision():
            return steps[i].run(x)

    for inputs, targets in val_batches:
        for index, logits in _walk(supernet, steps, configurations, order, inputs, validate, seconds):
            correct[index] += int((logits.argmax(1) == targets).sum())
    return list(zip(correct, seconds, strict=True))


def _walk(supernet: Supernet, steps: Sequence[Step], configurations: Sequence[Configuration], order: Sequence[int],
          x, compute: Callable, seconds: list[float]) -> Iterator[tuple[int, object]]:  # noqa: ANN001
    """Run ``compute(i, key, input)`` for each configuration (in ``order``) from the first step
    whose prefix differs from the last configuration's, on the cached output of the step before;
    yields (index, its last output). Only outputs a later configuration can resume from are kept:
    those of a step whose next step reads a new slot, and the last."""
    keep = [i + 1 == len(steps) or steps[i + 1].slots != steps[i].slots for i in range(len(steps))]
    keys: list[tuple | None] = [None] * len(steps)
    cache: dict[int, object] = {}
    for index in order:
        start = time.perf_counter()
        supernet.switch(configurations[index].by_slot)
        alphas = supernet.alphas
        current = [tuple(alphas[s] for s in step.slots) for step in steps]
        first = next((i for i in range(len(steps)) if keys[i] != current[i]), len(steps))
        y = x if first == 0 else cache[first - 1]
        for i in range(first, len(steps)):
            y = compute(i, current[i], y)
            keys[i] = current[i]
            if keep[i]:
                cache[i] = y
        seconds[index] += time.perf_counter() - start
        yield index, y


def _calibrate(step: Step, batches: Batches, precision: Callable[[], object]) -> Batches:
    """Recalibrate the step's batch norms on ``batches`` (cumulative average, as
    :func:`~octsearch.supernet.calibrate.recalibrate`) and return its training-mode outputs."""
    momenta = [norm.momentum for norm in step.norms]
    for norm in step.norms:
        norm.reset_statistics()
        norm.momentum = None
    step.mode(True)
    try:
        with precision():
            return [step.run(x) for x in batches]
    finally:
        for norm, momentum in zip(step.norms, momenta, strict=True):
            norm.momentum = momentum
        step.mode(False)
