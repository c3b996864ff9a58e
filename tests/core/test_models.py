import pytest
import torch
from small_models import SMALL

from octsearch.core.registry import alpha_slots, create_model, list_models
from octsearch.errors import ConfigError, UnknownNameError


def test_every_registered_model_is_covered():
    assert sorted(SMALL) == list_models()


@pytest.mark.parametrize("name", sorted(SMALL))
@pytest.mark.parametrize("alpha", [0, 0.25, 0.5])
def test_builds_runs_forward_and_backward(name, alpha):
    args = SMALL[name]
    model = create_model(name, alpha, **args)
    x = torch.randn(2, model.model_args["in_chans"], args["input_size"], args["input_size"])
    y = model(x)
    assert y.shape == (2, model.model_args["num_classes"])
    y.sum().backward()
    assert all(p.grad is not None for p in model.parameters() if p.requires_grad)


def test_cifar_resnet_takes_mnist_and_cifar_shapes():
    for side, chans in [(28, 1), (32, 3)]:
        model = create_model("oct_resnet20", 0.25, input_size=side, in_chans=chans, width_mult=0.5)
        assert model(torch.randn(1, chans, side, side)).shape == (1, 10)


def test_slots_tie_residual_streams_and_pin_odd_maps():
    free = {s.name for s in alpha_slots("oct_resnet20", input_size=28)}
    every = {s.name: s for s in alpha_slots("oct_resnet20", include_pinned=True, input_size=28)}
    # one block-output slot per stage, one inner slot per block
    assert {"stage1.out", "stage2.out", "stage2.block3.inner"} <= free
    assert "stage1.block1.out" not in every
    assert every["stage3.out"].pinned and "pooling" in every["stage3.out"].pinned
    assert every["stage3.block1.inner"].pinned and "odd" in every["stage3.block1.inner"].pinned
    assert every["stage2.out"].spatial == 14 and every["stage2.out"].channels == 32
    assert "stem.conv" in every["stage1.out"].layers


def test_imagenet_resnet_pins_stem_and_last_stage():
    every = {s.name: s for s in alpha_slots("oct_resnet50", include_pinned=True)}
    assert every["stem.out"].pinned
    assert all(s.pinned for n, s in every.items() if n.startswith("stage5"))
    assert not every["stage4.block6.inner2"].pinned
    assert len([s for s in every.values() if s.free]) == 1 + 3 * 2 + 1 + 4 * 2 + 1 + 6 * 2


def test_mobilenet_ties_depthwise_and_pins_seven_by_seven():
    every = {s.name: s for s in alpha_slots("oct_mobilenetv2", include_pinned=True)}
    assert every["stage6.out"].pinned and every["stage6.block1.inner"].pinned  # 7x7 at 224
    assert not every["stage5.out"].pinned
    dw = every["stage4.block2.inner"].layers
    assert any(layer.endswith("body.1.conv") for layer in dw) and len(dw) == 3


def test_alpha_mapping_round_trip():
    slots = alpha_slots("oct_resnet20", input_size=32, width_mult=0.5)
    alphas = {s.name: (0.5 if i % 2 else 0.25) for i, s in enumerate(slots)}
    model = create_model("oct_resnet20", alphas, input_size=32, width_mult=0.5)
    assert {k: v for k, v in model.alphas.items() if k in alphas} == alphas
    assert model.alphas["stage3.out"] == 0.0


@pytest.mark.parametrize(
    "alphas,expected",
    [
        ({"nope": 0.5}, "unknown slot 'nope'"),
        ({"stage1.out": 0.5}, "leave out slot(s)"),
        (1.0, "outside [0, 1)"),
        (-0.25, "outside [0, 1)"),
    ],
)
def test_bad_alphas_are_one_line_errors(alphas, expected):
    with pytest.raises(ConfigError) as e:
        create_model("oct_resnet20", alphas, input_size=32)
    assert expected in str(e.value) and "\n" not in str(e.value)


def test_pinned_slot_refuses_nonzero_alpha():
    slots = {s.name: 0.25 for s in alpha_slots("oct_resnet20")}
    slots["stage3.out"] = 0.5
    with pytest.raises(ConfigError, match="stage3.out alpha=0.5 but it is pinned to 0"):
        create_model("oct_resnet20", slots)


def test_alpha_too_small_for_channels():
    with pytest.raises(ConfigError, match="gives 0 low channels"):
        create_model("oct_resnet20", 0.05, width_mult=0.5)


def test_unknown_model_lists_choices():
    with pytest.raises(UnknownNameError) as e:
        create_model("resnet9000")
    assert "oct_resnet50" in str(e.value) and "oct_mobilenetv2" in str(e.value)


@pytest.mark.parametrize("name,size", [("oct_resnet20", 30), ("oct_resnet20", 12), ("oct_resnet50", 200),
                                       ("oct_mobilenetv2", 48)])
def test_bad_input_size(name, size):
    with pytest.raises(ConfigError, match=f"input_size={size}"):
        alpha_slots(name, input_size=size)


def test_unknown_model_argument():
    with pytest.raises(ConfigError, match="unknown model argument 'depth'"):
        create_model("oct_resnet20", depth=3)


@pytest.mark.parametrize("name", sorted(SMALL))
def test_absurd_input_size_is_refused_before_allocating(name):
    # 12 TB of input at 1,000,000 px: refused by the shared argument check, slots and models alike
    for build in (alpha_slots, create_model):
        with pytest.raises(ConfigError, match="input_size=1000000; accepted: .*at most 4096 px") as e:
            build(name, input_size=1_000_000)
        assert "TB" in str(e.value) and "\n" not in str(e.value)


def test_count_flops_refuses_an_absurd_explicit_input():
    from octsearch.core.flops import count_flops

    model = create_model("oct_resnet20", 0.25, input_size=16)
    with pytest.raises(ConfigError, match=r"input_size=\(3, 16, 100000\); accepted: .*at most 4096 px"):
        count_flops(model, (3, 16, 100_000))
