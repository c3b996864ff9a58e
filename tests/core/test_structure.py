"""Blocks that state their structure: the description is what they compute."""

import pytest
import torch
from small_models import SMALL

from octsearch.core.layers import OctActivation, OctConvBNAct
from octsearch.core.models._residual import OctResidualBlock
from octsearch.core.registry import create_model
from octsearch.core.structure import BlockStructure, StructuredBlock


def _conv(act: str | None = "relu") -> OctConvBNAct:
    return OctConvBNAct(8, 8, 3, alpha_in=0.5, alpha_out=0.5, act=act)


@pytest.mark.parametrize("name", sorted(SMALL))
def test_every_family_describes_its_blocks(name):
    model = create_model(name, 0.25, **SMALL[name])
    blocks = [m for m in model.modules() if isinstance(m, StructuredBlock)]
    assert blocks
    for block in blocks:
        s = block.structure()
        assert all(isinstance(m, OctConvBNAct) for m in s.body)
        assert s.has_residual or s.act is None


def test_residual_blocks_name_their_shortcut_or_identity():
    model = create_model("oct_resnet20", 0.25, input_size=16)
    first, second = model.stage2.block1.structure(), model.stage2.block2.structure()
    assert first.shortcut is model.stage2.block1.shortcut and not first.identity
    assert second.shortcut is None and second.identity
    assert isinstance(model.stage2.block1, OctResidualBlock)


def test_run_is_the_described_computation():
    torch.manual_seed(0)
    a, b, short = _conv(), _conv(None), _conv(None)
    act = OctActivation("relu")
    x = (torch.randn(1, 4, 8, 8), torch.randn(1, 4, 4, 4))
    y = BlockStructure((a, b), short, act=act).run(x)
    h = b(a(x))
    r = short(x)
    expected = act((h[0] + r[0], h[1] + r[1]))
    assert all(torch.equal(got, want) for got, want in zip(y, expected, strict=True))


@pytest.mark.parametrize("kwargs,message", [
    (dict(body=()), "at least one body layer"),
    (dict(body=("conv",), shortcut="conv", identity=True), "not both"),
    (dict(body=("conv",), act="relu"), "needs a residual"),
])
def test_inconsistent_descriptions_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        BlockStructure(**kwargs)
