"""One Oct network whose every alpha slot switches, per forward pass, among its grid values.

:class:`~octsearch.core.layers.OctConv2d` already keeps one weight shaped like ``nn.Conv2d``'s and
slices it by the channel split, so switching a convolution is setting its split. Batch norm is the
one part whose shape depends on alpha: :class:`SwitchableBatchNorm` keeps one affine pair over all
channels (sliced like the weight) and one set of running statistics per alpha of its slot
("switchable statistics"), which a recalibration (:mod:`octsearch.supernet.calibrate`) overwrites.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from octsearch.core.layers import (
    OctBatchNorm2d,
    OctConv2d,
    OctConvBNAct,
    OctInput,
    OctPair,
    as_pair,
)
from octsearch.core.split import check_alpha, split_channels
from octsearch.errors import ConfigError


class SwitchableBatchNorm(nn.Module):
    """Per-branch batch norm over a tensor whose split switches: channel ``j`` keeps its affine
    parameters whatever its branch (as it keeps its convolution weights); running statistics are
    kept per alpha of the slot (``running_mean[i]`` for ``alphas[i]``)."""

    def __init__(self, channels: int, alphas: Sequence[float], slot: str | None, eps: float = 1e-5,
                 momentum: float | None = 0.1) -> None:
        super().__init__()
        self.channels, self.slot, self.eps, self.momentum = channels, slot, eps, momentum
        self.alphas = tuple(sorted(set(alphas)))
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.register_buffer("running_mean", torch.zeros(len(self.alphas), channels))
        self.register_buffer("running_var", torch.ones(len(self.alphas), channels))
        self.index, self.high = 0, split_channels(channels, self.alphas[0])[0]

    def switch(self, alpha: float) -> None:
        if alpha not in self.alphas:  # a bug in the caller: the supernet checks configurations first
            raise ValueError(f"slot {self.slot}: alpha {alpha} is not in its grid {self.alphas}")
        self.index, self.high = self.alphas.index(alpha), split_channels(self.channels, alpha)[0]

    def reset_statistics(self) -> None:
        """Forget the current alpha's statistics; the next batches (in training mode, with
        ``momentum=None``) set them to their cumulative average."""
        self.running_mean[self.index].zero_()
        self.running_var[self.index].fill_(1.0)
        self.batches_seen = 0

    def _factor(self) -> float:
        if self.momentum is not None:
            return self.momentum
        return 1.0 / (getattr(self, "batches_seen", 0) + 1)  # cumulative average, as nn.BatchNorm2d

    def _norm(self, x: Tensor, part: slice, factor: float) -> Tensor:
        # a slice of a row is a view: batch norm's in-place update of the statistics lands in the buffer
        return F.batch_norm(x, self.running_mean[self.index, part], self.running_var[self.index, part],
                            self.weight[part], self.bias[part], self.training, factor, self.eps)

    def forward(self, x: OctInput) -> OctPair:
        x_h, x_l = as_pair(x)
        factor = self._factor()
        y_h = self._norm(x_h, slice(0, self.high), factor)
        y_l = None if x_l is None else self._norm(x_l, slice(self.high, self.channels), factor)
        if self.training and self.momentum is None:
            self.batches_seen = getattr(self, "batches_seen", 0) + 1
        return y_h, y_l


class Supernet(nn.Module):
    """An Oct model whose alpha slots switch over one set of weights (see the module docstring).

    ``grid`` maps each slot to the alphas it may take; a slot it leaves out (pinned, or the plain
    image and classifier tensors) stays at 0. :meth:`switch` sets every slot for the next forward
    passes; the model's weights, and so its state dict's shapes, never change.
    """

    def __init__(self, model: nn.Module, grid: Mapping[str, Sequence[float]]) -> None:
        super().__init__()
        self.model = model
        self.grid = {slot: tuple(sorted({check_alpha(a, f"slot {slot} alpha") for a in alphas}))
                     for slot, alphas in grid.items()}
        self.convs = [m for m in model.modules() if isinstance(m, OctConv2d)]
        self.norms = _switchable_norms(model, self.grid)
        self.alphas: dict[str, float] = {}
        self.switch({slot: alphas[0] for slot, alphas in self.grid.items()})

    def switch(self, alphas: Mapping[str, float]) -> None:
        """Give every slot of ``alphas`` its alpha (slots left out: their grid's first)."""
        chosen = {slot: float(alphas.get(slot, grid[0])) for slot, grid in self.grid.items()}
        for slot, alpha in chosen.items():
            if alpha not in self.grid[slot]:
                raise ConfigError(f"slot {slot} alpha={alpha}; accepted: {', '.join(map(str, self.grid[slot]))} "
                                  "(the supernet's grid for it)")
        for conv in self.convs:
            _set_split(conv, chosen.get(conv.slot_in, 0.0), chosen.get(conv.slot_out, 0.0))
        for norm in self.norms:
            norm.switch(chosen.get(norm.slot, 0.0))
        self.alphas = chosen

    def forward(self, x: Tensor) -> Tensor:
        return self.model(x)


def _set_split(conv: OctConv2d, alpha_in: float, alpha_out: float) -> None:
    """The split of one convolution, as ``OctConv2d.__init__`` computes it (the weight is untouched)."""
    conv.alpha_in, conv.alpha_out = alpha_in, alpha_out
    conv.hi_in, conv.lo_in = split_channels(conv.in_channels, alpha_in)
    conv.hi_out, conv.lo_out = split_channels(conv.out_channels, alpha_out)


def _switchable_norms(model: nn.Module, grid: Mapping[str, tuple[float, ...]]) -> list[SwitchableBatchNorm]:
    """Replace the batch norm of every OctConvBNAct by a switchable one; a batch norm elsewhere
    means the family does not say which slot it normalises, so it cannot switch."""
    norms = []
    for module in model.modules():
        if isinstance(module, OctConvBNAct):
            slot = module.conv.slot_out
            module.bn = SwitchableBatchNorm(module.conv.out_channels, grid.get(slot, (0.0,)), slot)
            norms.append(module.bn)
    stray = [name for name, m in model.named_modules() if isinstance(m, OctBatchNorm2d)]
    if stray:
        raise ConfigError(f"model {getattr(model, 'model_name', type(model).__name__)} cannot switch its alphas: "
                          f"its batch norm {stray[0]} does not follow an OctConvBNAct; accepted: a family whose "
                          "batch norms all sit in OctConvBNAct layers (every shipped one)")
    return norms
