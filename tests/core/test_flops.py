import math

import pytest
import torch
from small_models import SMALL
from torch.utils.flop_counter import FlopCounterMode

from octsearch.core.flops import count_flops
from octsearch.core.layers import OctConv2d
from octsearch.core.registry import create_model
from octsearch.core.split import split_channels

GRID = (0, 0.125, 0.25, 0.5, 0.75)


class _Wrap(torch.nn.Module):
    def __init__(self, conv):
        super().__init__()
        self.conv = conv

    def forward(self, x):
        return _outputs(self.conv(x))


def _oct_conv_macs(cin, cout, k, side_in, a_in, a_out, stride=1, groups=1):
    """Independent count of one OctConv (multiply-adds), from the paper's path definitions."""
    hi, lo = split_channels(cin, a_in)
    ho, lo_o = split_channels(cout, a_out)
    s = side_in // stride  # output high side
    if groups > 1:
        return s * s * k * k * ho + (s // 2) ** 2 * k * k * lo_o
    macs = s * s * k * k * hi * ho + (s // 2) ** 2 * k * k * hi * lo_o
    if lo:
        lh_side = s if stride == 2 else s // 2  # stride 2: the low input is already at output size
        macs += lh_side**2 * k * k * lo * ho + (s // 2) ** 2 * k * k * lo * lo_o
    return macs


def _resnet50_macs(alpha, side=224, classes=1000):
    """Oct-ResNet-50 (v1.5) by hand: plain stem, alpha in stages 2-4, stage 5 at 0."""
    macs = (side // 2) ** 2 * 49 * 3 * 64
    s, cin = side // 4, 64
    a_prev = 0.0
    for i, n in enumerate((3, 4, 6, 3)):
        width, a = 64 * 2**i, (alpha if i < 3 else 0.0)
        for b in range(n):
            stride = 2 if (b == 0 and i > 0) else 1
            a_in = a_prev if b == 0 else a
            macs += _oct_conv_macs(cin, width, 1, s, a_in, a)
            macs += _oct_conv_macs(width, width, 3, s, a, a, stride)
            macs += _oct_conv_macs(width, width * 4, 1, s // stride, a, a)
            if b == 0:
                macs += _oct_conv_macs(cin, width * 4, 1, s, a_in, a, stride)
            s //= stride
            cin = width * 4
        a_prev = a
    return macs + 2048 * classes


@pytest.mark.parametrize("alpha,paper", zip(GRID, (4.1, 3.6, 3.1, 2.4, 1.9), strict=True))
def test_resnet50_reproduces_paper_table2(alpha, paper):
    count = count_flops(create_model("oct_resnet50", alpha))
    assert round(count.flops_paper / 1e9, 1) == paper
    # agrees with the independent count to the third decimal of GFLOPs (here: exactly)
    assert count.flops_paper == _resnet50_macs(alpha)
    assert count.param_count == 25_557_032  # torchvision's ResNet-50, at every alpha


@pytest.mark.parametrize("alpha", GRID)
def test_single_wide_octconv_follows_compute_ratio(alpha):
    def macs(a):
        conv = _Wrap(OctConv2d(256, 256, 3, alpha_in=0, alpha_out=0))
        if a:
            conv = _PairIn(OctConv2d(256, 256, 3, alpha_in=a, alpha_out=a))
        return count_flops(conv, (256, 32, 32)).flops_paper

    assert macs(alpha) / macs(0) == pytest.approx(1 - 0.75 * alpha * (2 - alpha), abs=1e-12)


class _PairIn(torch.nn.Module):
    """Feeds a full-resolution tensor split into (high, low) to an OctConv."""

    def __init__(self, conv):
        super().__init__()
        self.conv = conv

    def forward(self, x):
        hi = self.conv.hi_in
        return _outputs(self.conv((x[:, :hi], torch.nn.functional.avg_pool2d(x[:, hi:], 2))))


def _outputs(pair):
    # Return every output: the tracer drops paths whose result is unused.
    return pair if pair[1] is not None else pair[0]


@pytest.mark.parametrize("k,stride,a_in,a_out,groups", [
    (3, 1, 0.5, 0.5, 1), (1, 2, 0.25, 0.5, 1), (3, 2, 0.5, 0.0, 1), (3, 1, 0.0, 0.25, 1),
    (3, 2, 0.5, 0.5, 32), (5, 1, 0.75, 0.125, 1),
])
def test_single_layer_by_hand(k, stride, a_in, a_out, groups):
    conv = OctConv2d(32, 32, k, stride, groups=groups, alpha_in=a_in, alpha_out=a_out)
    model = _PairIn(conv) if conv.lo_in else _Wrap(conv)
    assert count_flops(model, (32, 16, 16)).flops_paper == _oct_conv_macs(32, 32, k, 16, a_in, a_out, stride, groups)


@pytest.mark.parametrize("name", sorted(SMALL))
def test_flops_fall_strictly_with_alpha_and_params_stay(name):
    counts = [count_flops(create_model(name, a, **SMALL[name])) for a in GRID]
    paper = [c.flops_paper for c in counts]
    assert all(a > b for a, b in zip(paper, paper[1:], strict=False)), paper
    assert len({c.param_count for c in counts}) == 1
    assert all(c.flops_all > c.flops_paper for c in counts)


@pytest.mark.parametrize("name", sorted(SMALL))
def test_paper_convention_matches_torch_flop_counter(name):
    model = create_model(name, 0.5, **SMALL[name]).eval()
    count = count_flops(model)
    with FlopCounterMode(display=False) as counter:
        model(torch.zeros(1, *count.input_shape))
    assert counter.get_total_flops() == 2 * count.flops_paper  # torch counts 2 FLOPs per multiply-add


def test_every_operator_is_counted():
    count = count_flops(create_model("oct_mobilenetv2", 0.5, **SMALL["oct_mobilenetv2"]))
    assert {"conv", "linear", "batch_norm", "avg_pool2d", "upsample_nearest2d", "add", "hardtanh_"} <= set(count.by_operator)
    assert count.flops_all == sum(count.by_operator.values())


def test_breakdowns_add_up():
    model = create_model("oct_resnet20", 0.25, input_size=32)
    count = count_flops(model)
    assert sum(count.per_layer.values()) == count.flops_paper
    assert sum(count.per_slot.values()) == count.flops_paper
    assert set(count.per_slot) - {"(plain)"} <= set(model.alphas)
    assert math.prod(count.input_shape) == 3 * 32 * 32


def test_unknown_operator_is_an_error_not_a_warning():
    from octsearch.errors import FlopCountError

    class Odd(torch.nn.Module):
        def forward(self, x):
            return torch.nn.functional.conv2d(x, torch.ones(1, 3, 1, 1)).sigmoid()

    with pytest.raises(FlopCountError, match="aten::sigmoid"):
        count_flops(Odd(), (3, 8, 8))
