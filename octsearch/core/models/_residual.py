"""The residual block both ResNet families share: ``relu(body(x) + shortcut(x))`` per branch.

The shortcut is the identity where the shape is kept (input and output share one alpha slot) and
a projection (1x1 OctConv + batch norm) where channels or stride change, which may change alpha.
"""

from __future__ import annotations

from torch import nn

from octsearch.core.layers import OctActivation, OctConvBNAct, OctInput, OctPair, as_pair, oct_add


class OctResidualBlock(nn.Module):
    """Subclasses build their convolutions, call :meth:`add_shortcut`, and define :meth:`body`."""

    def add_shortcut(self, in_ch: int, out_ch: int, stride: int, a_in: float, a_out: float,
                     in_slot: str, out_slot: str) -> None:
        self.shortcut = None
        if stride != 1 or in_ch != out_ch:
            self.shortcut = OctConvBNAct(in_ch, out_ch, 1, stride, alpha_in=a_in, alpha_out=a_out,
                                         act=None, slot_in=in_slot, slot_out=out_slot)
        self.act = OctActivation("relu")

    def body(self, x: OctPair) -> OctPair:
        raise NotImplementedError

    def forward(self, x: OctInput) -> OctPair:
        x = as_pair(x)
        shortcut = x if self.shortcut is None else self.shortcut(x)
        return self.act(oct_add(self.body(x), shortcut))
