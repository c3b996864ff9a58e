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
from octsearch.fast.batchnorm import (  # the fast path's exact channels-last kernel
    LaneBatchNorm,
    lanes_of,
)


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
        mean, var = self.running_mean[self.index, part], self.running_var[self.index, part]
        if self.training and not x.is_contiguous() and x.is_contiguous(memory_format=torch.channels_last):
            return _channels_last_norm(x, mean, var, self.weight[part], self.bias[part], factor, self.eps)
        return F.batch_norm(x, mean, var, self.weight[part], self.bias[part], self.training, factor, self.eps)

    def forward(self, x: OctInput) -> OctPair:
        x_h, x_l = as_pair(x)
        factor = self._factor()
        y_h = self._norm(x_h, slice(0, self.high), factor)
        y_l = None if x_l is None else self._norm(x_l, slice(self.high, self.channels), factor)
        if self.training and self.momentum is None:
            self.batches_seen = getattr(self, "batches_seen", 0) + 1
        return y_h, y_l


def _channels_last_norm(x: Tensor, running_mean: Tensor, running_var: Tensor, weight: Tensor, bias: Tensor,
                        factor: float, eps: float) -> Tensor:
    """Training-mode batch norm of a channels-last map with two-pass statistics, and the same update
    of the running statistics (cumulative or momentum average, unbiased variance). PyTorch's CPU
    kernel for channels-last float32 is off by about 1e-5 relative (contiguous: 3e-7, against
    float64), enough to put a supernet's gradients 2-6% off; the lane kernel of the fast training
    path (:mod:`octsearch.fast.batchnorm`) is as exact as the contiguous one, at any channel count."""
    if x.device.type != "cpu" or x.dtype != torch.float32:  # PyTorch's own kernel (CUDA, other types)
        return F.batch_norm(x, running_mean, running_var, weight, bias, True, factor, eps)
    if x.numel() % lanes_of(x.shape[1]) == 0:
        y, mean, unbiased_var = LaneBatchNorm.apply(x, weight, bias, eps)
    else:  # a size the lane view does not tile (e.g. 250 images at 14x14, 3 channels): the same in torch ops
        mean = x.mean((0, 2, 3))
        centred = x - mean.view(1, -1, 1, 1)
        var = centred.square().mean((0, 2, 3))
        y = centred * (weight * torch.rsqrt(var + eps)).view(1, -1, 1, 1) + bias.view(1, -1, 1, 1)
        count = x.numel() // x.shape[1]
        unbiased_var = var.detach() * (count / max(count - 1, 1))
    with torch.no_grad():
        running_mean.mul_(1 - factor).add_(mean.detach(), alpha=factor)
        running_var.mul_(1 - factor).add_(unbiased_var, alpha=factor)
    return y


class Supernet(nn.Module):
    """An Oct model whose alpha slots switch over one set of weights (see the module docstring).

    ``grid`` maps each slot to the alphas it may take; a slot it leaves out (pinned, or the plain
    image and classifier tensors) stays at 0. :meth:`switch` sets every slot for the next forward
    passes; the model's weights, and so its state dict's shapes, never change. ``memory_format``:
    the layout its activations and convolution weights take (:meth:`set_layout`; channels-last:
    batch norm through :func:`_channels_last_norm`).
    """

    def __init__(self, model: nn.Module, grid: Mapping[str, Sequence[float]]) -> None:
        super().__init__()
        self.model = model
        self.memory_format = torch.contiguous_format  # as built; see set_layout
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

    def set_layout(self, memory_format: torch.memory_format) -> None:
        """Convert the weights (in place, same values) and the activations to come to ``memory_format``."""
        self.model.to(memory_format=memory_format)
        self.memory_format = memory_format

    def prepare(self, x: Tensor) -> Tensor:
        """The images in the supernet's layout. A one-channel image is contiguous and channels-last
        at once, and a convolution then picks contiguous for everything after it: its channel
        stride is set to 1 so that channels-last holds from the stem on (the same values)."""
        if self.memory_format != torch.channels_last or x.dim() != 4:
            return x
        x = x.contiguous(memory_format=torch.channels_last)
        if x.shape[1] == 1:
            x = x.as_strided(x.shape, (x.stride(0), 1, x.stride(2), x.stride(3)))
        return x

    def forward(self, x: Tensor) -> Tensor:
        return self.model(self.prepare(x))


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
