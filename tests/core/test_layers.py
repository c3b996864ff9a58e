import itertools

import pytest
import torch
from torch import nn

from octsearch.core.layers import OctBatchNorm2d, OctConv2d, OctConvBNAct
from octsearch.core.split import split_channels
from octsearch.errors import ConfigError


@pytest.mark.parametrize("stride", [1, 2])
@pytest.mark.parametrize("kernel", [1, 3, 5])
@pytest.mark.parametrize("bias", [False, True])
def test_alpha_zero_is_plain_conv(stride, kernel, bias):
    torch.manual_seed(0)
    plain = nn.Conv2d(8, 12, kernel, stride, padding=kernel // 2, bias=bias)
    oct_ = OctConv2d(8, 12, kernel, stride, bias=bias)
    oct_.load_state_dict(plain.state_dict())  # a plain conv's state dict loads unchanged
    x = torch.randn(2, 8, 16, 16)
    high, low = oct_(x)
    assert low is None
    assert (high - plain(x)).abs().max().item() <= 1e-6


def test_depthwise_alpha_zero_is_plain_depthwise_conv():
    plain = nn.Conv2d(16, 16, 3, 1, 1, groups=16, bias=False)
    oct_ = OctConv2d(16, 16, 3, groups=16)
    oct_.load_state_dict(plain.state_dict())
    x = torch.randn(1, 16, 8, 8)
    assert (oct_(x)[0] - plain(x)).abs().max().item() <= 1e-6


def test_parameters_do_not_depend_on_alpha():
    counts = {sum(p.numel() for p in OctConv2d(32, 48, 3, alpha_in=a, alpha_out=b).parameters())
              for a in (0, 0.25, 0.5) for b in (0, 0.125, 0.75)}
    assert counts == {32 * 48 * 9}


def test_four_paths_match_a_hand_written_octconv():
    torch.manual_seed(1)
    conv = OctConv2d(16, 16, 3, alpha_in=0.5, alpha_out=0.5)
    x_h, x_l = torch.randn(1, 8, 8, 8), torch.randn(1, 8, 4, 4)
    w = conv.weight
    f = nn.functional
    hh = f.conv2d(x_h, w[:8, :8], padding=1)
    lh = f.interpolate(f.conv2d(x_l, w[:8, 8:], padding=1), scale_factor=2, mode="nearest")
    hl = f.conv2d(f.avg_pool2d(x_h, 2), w[8:, :8], padding=1)
    ll = f.conv2d(x_l, w[8:, 8:], padding=1)
    y_h, y_l = conv((x_h, x_l))
    assert torch.allclose(y_h, hh + lh, atol=1e-6)
    assert torch.allclose(y_l, hl + ll, atol=1e-6)


def test_gradients_reach_all_four_paths():
    conv = OctConv2d(16, 16, 3, alpha_in=0.5, alpha_out=0.5)
    x_h = torch.randn(2, 8, 8, 8, requires_grad=True)
    x_l = torch.randn(2, 8, 4, 4, requires_grad=True)
    y_h, y_l = conv((x_h, x_l))
    (y_h.sum() + y_l.sum()).backward()
    g = conv.weight.grad
    for block in (g[:8, :8], g[:8, 8:], g[8:, :8], g[8:, 8:]):  # HH, LH, HL, LL
        assert block.abs().sum() > 0
    assert x_h.grad.abs().sum() > 0 and x_l.grad.abs().sum() > 0


GRID = list(itertools.product([8, 13, 32], [0, 0.25, 0.5], [0, 0.125, 0.75], [1, 2], [1, 3], [8, 16]))


@pytest.mark.parametrize("channels,alpha_in,alpha_out,stride,kernel,side", GRID)
def test_output_shapes(channels, alpha_in, alpha_out, stride, kernel, side):
    hi_in, lo_in = split_channels(channels, alpha_in)
    out_channels = channels + 3
    conv = OctConv2d(channels, out_channels, kernel, stride, alpha_in=alpha_in, alpha_out=alpha_out)
    x = (torch.randn(1, hi_in, side, side), torch.randn(1, lo_in, side // 2, side // 2) if lo_in else None)
    y_h, y_l = conv(x)
    hi_out, lo_out = split_channels(out_channels, alpha_out)
    out_side = side // stride
    assert tuple(y_h.shape) == (1, hi_out, out_side, out_side)
    if lo_out:
        assert tuple(y_l.shape) == (1, lo_out, out_side // 2, out_side // 2)
    else:
        assert y_l is None


@pytest.mark.parametrize("alpha", [0.25, 0.5])
@pytest.mark.parametrize("stride", [1, 2])
def test_depthwise_branch_by_branch(alpha, stride):
    conv = OctConv2d(16, 16, 3, stride, groups=16, alpha_in=alpha, alpha_out=alpha)
    hi, lo = split_channels(16, alpha)
    y_h, y_l = conv((torch.randn(1, hi, 16, 16), torch.randn(1, lo, 8, 8)))
    assert y_h.shape[1] == hi and y_l.shape[1] == lo
    assert y_h.shape[-1] == 16 // stride and y_l.shape[-1] == 8 // stride


def test_depthwise_needs_equal_alphas():
    with pytest.raises(ConfigError, match="depthwise"):
        OctConv2d(16, 16, 3, groups=16, alpha_in=0.5, alpha_out=0.25)


def test_odd_map_cannot_be_halved_is_a_clear_error():
    conv = OctConv2d(8, 8, 3, alpha_in=0, alpha_out=0.5)
    with pytest.raises(ConfigError, match="cannot halve a 7x7 map"):
        conv(torch.randn(1, 8, 7, 7))


def test_batchnorm_and_activation_per_branch():
    block = OctConvBNAct(8, 16, 3, alpha_in=0.5, alpha_out=0.5)
    assert isinstance(block.bn, OctBatchNorm2d) and block.bn.bn_l.num_features == 8
    y_h, y_l = block((torch.randn(2, 4, 8, 8), torch.randn(2, 4, 4, 4)))
    assert (y_h >= 0).all() and (y_l >= 0).all()


def test_stride_three_is_refused():
    with pytest.raises(ConfigError, match="stride=3"):
        OctConv2d(8, 8, 3, stride=3)


@pytest.mark.parametrize("channels", [3, 4, 8])
def test_a_strided_shortcut_on_a_channels_last_map_trains_and_equals_nchw(channels):
    """torch 2.13's CPU backward of a strided 1x1 convolution on a channels-last map with 2-7
    input channels corrupted the heap on this project's AVX2 AMD EPYC machine (the process died):
    the layer computes it on every second pixel instead; outputs and gradients equal NCHW's."""
    torch.manual_seed(0)
    conv = OctConv2d(channels, 2 * channels, kernel_size=1, stride=2, alpha_in=0, alpha_out=0)
    x = torch.randn(8, channels, 16, 16)
    results = []
    for layout in (torch.contiguous_format, torch.channels_last):
        conv.zero_grad()
        inputs = x.clone(memory_format=layout).requires_grad_()
        for _ in range(3):  # the crash came within a few backward passes
            y, y_l = conv(inputs)
            y.square().sum().backward()
        results.append((y.detach(), inputs.grad, conv.weight.grad.clone()))
        assert y_l is None and y.shape == (8, 2 * channels, 8, 8)
    for nchw, cl in zip(*results, strict=True):
        torch.testing.assert_close(cl, nchw, rtol=1e-5, atol=1e-5)
