"""The classifier head every family shares: global average pooling + fully connected layer.

Its input tensor has alpha 0 by construction (DOMAIN.md: the classifier reads a plain map).
"""

from __future__ import annotations

from torch import Tensor, nn

from octsearch.core.layers import OctPair


class ClassifierHead(nn.Module):
    def __init__(self, channels: int, num_classes: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout) if dropout else None
        self.fc = nn.Linear(channels, num_classes)

    def forward(self, x: OctPair) -> Tensor:
        x_h, x_l = x
        if x_l is not None:  # a bug in a model, not user input
            raise RuntimeError("classifier input must have alpha 0")
        y = self.pool(x_h).flatten(1)
        if self.dropout is not None:
            y = self.dropout(y)
        return self.fc(y)
