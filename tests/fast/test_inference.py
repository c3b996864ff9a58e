"""optimize_for_inference: the same logits as the reference, for every family and alpha."""

import copy
import itertools

import pytest
import torch
from torch import nn

from octsearch import optimize_for_inference
from octsearch.core.layers import OctActivation, OctBatchNorm2d, OctConv2d, OctConvBNAct
from octsearch.core.registry import create_model
from octsearch.core.structure import BlockStructure, StructuredBlock
from octsearch.errors import ConfigError
from octsearch.fast.fold import fold_conv_bn
from octsearch.fast.fused import FusedOctConv, FusedResidual, fuse_model

# The brief's tiny configurations of the three families.
FAMILIES = {
    "oct_resnet20": dict(input_size=16),
    "oct_resnet26": dict(input_size=64, width_mult=0.25, num_classes=10),
    "oct_mobilenetv2": dict(input_size=32, width_mult=0.35, num_classes=10),
}
ALPHAS = [0, 0.25, 0.5, 0.75]


pytestmark = pytest.mark.usefixtures("one_thread")


def randomise_batch_norm(model: nn.Module, seed: int = 0) -> nn.Module:
    """Give every batch norm non-trivial statistics and affine parameters, so folding matters."""
    gen = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            n = m.num_features
            m.running_mean.copy_(torch.rand(n, generator=gen) * 2 - 1)
            m.running_var.copy_(torch.rand(n, generator=gen) * 1.5 + 0.5)
            m.weight.data.copy_(torch.rand(n, generator=gen) + 0.5)
            m.bias.data.copy_(torch.rand(n, generator=gen) - 0.5)
    return model


def reference_and_input(name: str, alpha: float, batch: int = 2):
    torch.manual_seed(0)
    args = FAMILIES[name]
    model = randomise_batch_norm(create_model(name, alpha, **args)).eval()
    side = args["input_size"]
    x = torch.randn(batch, model.model_args["in_chans"], side, side)
    return model, x


@pytest.mark.parametrize("name", sorted(FAMILIES))
@pytest.mark.parametrize("alpha", ALPHAS)
@pytest.mark.parametrize("channels_last", [True, False])
def test_same_logits_as_reference(name, alpha, channels_last):
    model, x = reference_and_input(name, alpha)
    with torch.no_grad():
        expected = model(x)
    fast = optimize_for_inference(model, channels_last=channels_last)
    assert (fast(x) - expected).abs().max().item() <= 1e-4
    # a channels-last input works too, and a new batch size re-packs the weights
    x_cl = x.contiguous(memory_format=torch.channels_last)
    assert (fast(x_cl) - expected).abs().max().item() <= 1e-4
    assert (fast(x[:1]) - expected[:1]).abs().max().item() <= 1e-4


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_blocks_and_convolutions_are_replaced(name):
    model, _ = reference_and_input(name, 0.5)
    fused = fuse_model(model)
    kinds = {type(m) for m in fused.modules()}
    assert FusedOctConv in kinds and FusedResidual in kinds
    assert not kinds & {OctConvBNAct, OctConv2d, OctBatchNorm2d, nn.BatchNorm2d}


class _NewFamilyBlock(StructuredBlock):
    """A block of a family the fast package never names: ``relu6(conv2(conv1(x)) + x)``."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = OctConvBNAct(16, 16, 3, alpha_in=0.5, alpha_out=0.25, act="relu6")
        self.conv2 = OctConvBNAct(16, 16, 1, alpha_in=0.25, alpha_out=0.5, act=None)
        self.act = OctActivation("relu6")

    def structure(self) -> BlockStructure:
        return BlockStructure((self.conv1, self.conv2), identity=True, act=self.act)


def test_a_new_family_that_describes_its_blocks_is_fused():
    torch.manual_seed(3)
    stem = OctConvBNAct(3, 16, 3, alpha_out=0.5)
    model = randomise_batch_norm(nn.Sequential(stem, _NewFamilyBlock(), _NewFamilyBlock())).eval()
    x = torch.randn(2, 3, 8, 8)
    with torch.no_grad():
        expected = model(x)
        fused = fuse_model(model)
        got = fused(x)
    assert [type(m) for m in fused] == [FusedOctConv, FusedResidual, FusedResidual]
    assert fused[1].act_kind == "relu6" and fused[1].identity
    for e, o in zip(expected, got, strict=True):
        assert (e - o).abs().max().item() <= 1e-4


def test_original_model_is_untouched():
    model, x = reference_and_input("oct_resnet20", 0.5)
    model.train()
    before = copy.deepcopy(model.state_dict())
    fast = optimize_for_inference(model)
    fast(x)
    assert model.training
    for key, value in model.state_dict().items():
        assert torch.equal(value, before[key]), key
    assert all(p.requires_grad for p in model.parameters())


# Every restructured mode of one layer: plain, depthwise, 0 -> alpha, alpha -> 0, alpha -> alpha,
# stride 1 and 2, kernels 1 and 3, each activation.
LAYER_CASES = [
    # (in, out, kernel, stride, groups, alpha_in, alpha_out, act)
    *[(12, 16, k, s, 1, ai, ao, act)
      for k, s, (ai, ao), act in itertools.product(
          (1, 3), (1, 2), [(0, 0), (0, 0.5), (0.25, 0), (0.5, 0.25), (0.75, 0.75)], ("relu", None))],
    (16, 16, 3, 1, 16, 0.5, 0.5, "relu6"),
    (16, 16, 3, 2, 16, 0.25, 0.25, "relu6"),
    (16, 16, 3, 2, 16, 0, 0, "relu6"),
    (12, 20, 1, 1, 1, 0.5, 0.5, "relu6"),
]


@pytest.mark.parametrize("case", LAYER_CASES, ids=str)
@pytest.mark.parametrize("for_compile", [False, True])
def test_each_layer_mode_matches_octconvbnact(case, for_compile):
    c_in, c_out, k, s, g, a_in, a_out, act = case
    torch.manual_seed(1)
    layer = randomise_batch_norm(
        OctConvBNAct(c_in, c_out, k, s, groups=g, alpha_in=a_in, alpha_out=a_out, act=act)).eval()
    hi, lo = layer.conv.hi_in, layer.conv.lo_in
    x = (torch.randn(2, hi, 8, 8), torch.randn(2, lo, 4, 4) if lo else None)
    with torch.no_grad():
        expected = layer(x)
        got = FusedOctConv(layer.conv, layer.bn, layer.act, for_compile=for_compile).eval()(x)
    for e, o in zip(expected, got, strict=True):
        assert (e is None) == (o is None)
        if e is not None:
            assert e.shape == o.shape
            assert (e - o).abs().max().item() <= 1e-4 * max(1.0, e.abs().max().item())


def test_dropping_a_path_would_be_caught():
    """The layer test is sensitive to every path: zeroing low->high changes the output."""
    torch.manual_seed(1)
    layer = randomise_batch_norm(OctConvBNAct(12, 16, 3, 1, alpha_in=0.5, alpha_out=0.5)).eval()
    x = (torch.randn(2, 6, 8, 8), torch.randn(2, 6, 4, 4))
    fused = FusedOctConv(layer.conv, layer.bn, layer.act)
    fused.w_lh.zero_()
    fused._packed.clear()
    with torch.no_grad():
        assert (layer(x)[0] - fused(x)[0]).abs().max().item() > 1e-2


@pytest.mark.parametrize("bias", [False, True])
def test_fold_equals_conv_then_eval_batch_norm(bias):
    torch.manual_seed(2)
    conv = OctConv2d(8, 10, 3, bias=bias)
    bn = randomise_batch_norm(OctBatchNorm2d(10)).eval()
    w, b = fold_conv_bn(conv, bn)
    x = torch.randn(3, 8, 6, 6)
    with torch.no_grad():
        expected = bn(conv(x))[0]
    assert (nn.functional.conv2d(x, w, b, 1, 1) - expected).abs().max().item() <= 1e-5


def test_inference_model_refuses_training_and_bad_arguments():
    model, _ = reference_and_input("oct_resnet20", 0.25)
    fast = optimize_for_inference(model)
    with pytest.raises(ConfigError, match="eval"):
        fast.train()
    with pytest.raises(ConfigError, match="compile='yes'"):
        optimize_for_inference(model, compile="yes")
    with pytest.raises(ConfigError, match="nn.Module"):
        optimize_for_inference("oct_resnet20")


def test_copies_and_state_dict():
    model, x = reference_and_input("oct_resnet26", 0.5)
    fast = optimize_for_inference(model)
    y = fast(x)
    clone = copy.deepcopy(fast)
    assert torch.allclose(clone(x), y, atol=1e-6)
    assert all(isinstance(v, torch.Tensor) and v.layout == torch.strided for v in fast.state_dict().values())


@pytest.mark.slow
@pytest.mark.parametrize("cpp_wrapper", [False, True])
def test_compiled_path_matches_reference(cpp_wrapper):
    """torch.compile (inductor, freezing; with or without its C++ wrapper) of a tiny model;
    compiles C++ (10-30 s)."""
    model = randomise_batch_norm(create_model("oct_resnet20", 0.5, input_size=16, width_mult=0.25)).eval()
    x = torch.randn(2, 3, 16, 16)
    with torch.no_grad():
        expected = model(x)
    fast = optimize_for_inference(model, compile=True, cpp_wrapper=cpp_wrapper)
    assert (fast(x) - expected).abs().max().item() <= 1e-4


def test_each_compiled_model_gets_its_own_dynamo_cache():
    """Dynamo keys compiled code by code object (8 entries each): models of one family must not
    share one, or a search would fall back to eager after 8 models."""
    from octsearch.fast.compile import _own_code_object

    net = nn.Identity()
    first, second = _own_code_object(net), _own_code_object(net)
    assert first.__code__ is not second.__code__
    x = torch.randn(2)
    assert torch.equal(first(x), x)


@pytest.mark.parametrize("name", sorted(FAMILIES))
@pytest.mark.parametrize("alpha", ALPHAS)
def test_onnxruntime_path_matches_reference(name, alpha):
    """Exported to ONNX (torch.export) and run by ONNX Runtime; one session serves every batch size."""
    model, x = reference_and_input(name, alpha, batch=3)
    with torch.no_grad():
        expected = model(x)
    fast = optimize_for_inference(model, onnxruntime=True)
    assert fast.onnxruntime and not fast.channels_last
    assert (fast(x) - expected).abs().max().item() <= 1e-4
    assert (fast(x[:1]) - expected[:1]).abs().max().item() <= 1e-4
    assert len(fast._run._sessions) == 1


def test_onnxruntime_path_copies_and_pickles():
    import pickle

    model, x = reference_and_input("oct_resnet20", 0.5)
    fast = optimize_for_inference(model, onnxruntime=True)
    y = fast(x)
    for clone in (copy.deepcopy(fast), pickle.loads(pickle.dumps(fast))):
        assert clone._run.module is clone.net and not clone._run._sessions
        assert torch.allclose(clone(x), y, atol=1e-6)


def test_onnxruntime_refuses_other_runtimes_and_inputs():
    model, x = reference_and_input("oct_resnet20", 0.5)
    with pytest.raises(ConfigError, match="compile=True with onnxruntime=True"):
        optimize_for_inference(model, compile=True, onnxruntime=True)
    with pytest.raises(ConfigError, match="cpp_wrapper=True without compile=True"):
        optimize_for_inference(model, cpp_wrapper=True)
    with pytest.raises(ConfigError, match="onnxruntime=1"):
        optimize_for_inference(model, onnxruntime=1)
    fast = optimize_for_inference(model, onnxruntime=True)
    with pytest.raises(ConfigError, match="float32 tensors on the CPU"):
        fast(x.double())


def test_onnxruntime_path_refuses_a_map_it_cannot_halve_in_one_line():
    model, _ = reference_and_input("oct_resnet20", 0.5)
    fast = optimize_for_inference(model, onnxruntime=True)
    with pytest.raises(ConfigError, match="cannot halve a 9x9 map") as err:
        fast(torch.randn(1, 3, 18, 18))
    assert "\n" not in str(err.value)
