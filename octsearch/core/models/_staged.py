"""The stage container every family shares: stages named ``stage1``, ``stage2``... so module
names read like slot names (``stage2.block1.conv1``), run in order."""

from __future__ import annotations

from collections import OrderedDict

from torch import nn

from octsearch.core.layers import OctPair


class StagedNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stage_names: list[str] = []

    def add_stage(self, name: str, blocks: dict[str, nn.Module]) -> None:
        self.add_module(name, nn.Sequential(OrderedDict(blocks)))
        self.stage_names.append(name)

    def run_stages(self, x: OctPair) -> OctPair:
        for name in self.stage_names:
            x = getattr(self, name)(x)
        return x
