"""The residual block both ResNet families share: ``relu(body(x) + shortcut(x))`` per branch.

The shortcut is the identity where the shape is kept (input and output share one alpha slot) and
a projection (1x1 OctConv + batch norm) where channels or stride change, which may change alpha.
"""

from __future__ import annotations

from torch import nn

from octsearch.core.layers import OctActivation, OctConvBNAct
from octsearch.core.structure import BlockStructure, StructuredBlock


class OctResidualBlock(StructuredBlock):
    """Subclasses build their convolutions, call :meth:`add_shortcut`, and list the body's
    convolutions in order in :meth:`body_layers`."""

    def add_shortcut(self, in_ch: int, out_ch: int, stride: int, a_in: float, a_out: float,
                     in_slot: str, out_slot: str) -> None:
        self.shortcut = None
        if stride != 1 or in_ch != out_ch:
            self.shortcut = OctConvBNAct(in_ch, out_ch, 1, stride, alpha_in=a_in, alpha_out=a_out,
                                         act=None, slot_in=in_slot, slot_out=out_slot)
        self.act = OctActivation("relu")

    def body_layers(self) -> tuple[nn.Module, ...]:
        raise NotImplementedError

    def structure(self) -> BlockStructure:
        return BlockStructure(self.body_layers(), self.shortcut, self.shortcut is None, self.act)
