"""What a block computes, stated by the model family that defines it.

A :class:`StructuredBlock` describes itself as a :class:`BlockStructure` (its layers in order, its
shortcut, its activation) and runs that description as its forward, so the description cannot
drift from what the block computes. Passes that restructure a model (the fast inference path in
:mod:`octsearch.fast` fuses each block) read the description instead of recognising block
classes: a new family whose blocks describe themselves is restructured with no change there.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from octsearch.core.layers import OctActivation, OctInput, OctPair, as_pair, oct_add


@dataclass(frozen=True)
class BlockStructure:
    """A block computing ``act(body(x) + residual)``: ``body`` runs its layers in order.

    Attributes:
        body: the layers of the chain, each fed the previous one's output (OctConvBNAct or
            OctConv2d in the shipped families; a pass may refuse other layers).
        shortcut: the layer the residual runs through (a projection), or None.
        identity: with no shortcut, whether the residual is ``x`` itself (False: no add, a plain chain).
        act: the activation applied after the add, or None (none, or no add).
    """

    body: tuple[nn.Module, ...]
    shortcut: nn.Module | None = None
    identity: bool = False
    act: OctActivation | None = None

    def __post_init__(self) -> None:  # a bug in a model, not user input
        if not self.body:
            raise ValueError("a block structure needs at least one body layer")
        if self.shortcut is not None and self.identity:
            raise ValueError("a block structure has a shortcut layer or an identity residual, not both")
        if self.act is not None and not self.has_residual:
            raise ValueError("an activation after the add needs a residual; give it to the last layer")

    @property
    def has_residual(self) -> bool:
        return self.shortcut is not None or self.identity

    def run(self, x: OctInput) -> OctPair:
        """The block's forward, as described."""
        x = as_pair(x)
        residual = self.shortcut(x) if self.shortcut is not None else (x if self.identity else None)
        y = x
        for layer in self.body:
            y = layer(y)
        if residual is None:
            return y
        y = oct_add(y, residual)
        return y if self.act is None else self.act(y)


class StructuredBlock(nn.Module):
    """A block whose forward is its :meth:`structure`: subclasses build their layers and describe
    them there (read at call time, so a pass that swaps the layers keeps the block working)."""

    def structure(self) -> BlockStructure:
        raise NotImplementedError

    def forward(self, x: OctInput) -> OctPair:
        return self.structure().run(x)
