"""Shared scoring: the step chain is each family's forward pass, and scoring configurations with
each layer's work shared among those that agree up to it gives the numbers that scoring them one
at a time gives, in either layout and either batch-norm handling."""

from __future__ import annotations

import random

import pytest
import torch
from supernet_spaces import four_param_space

from octsearch.core.registry import create_model
from octsearch.spaces import space_from_text
from octsearch.spaces.remaining import every_configuration
from octsearch.supernet.evaluate import readers, score_configurations
from octsearch.supernet.settings import EvaluationSettings, SandwichRule, SupernetSettings
from octsearch.supernet.shared import forward_steps, prefix_order, run_steps
from octsearch.supernet.switchable import Supernet
from octsearch.supernet.training import train_supernet
from octsearch.trial.recipe import recipe_for

CPU = torch.device("cpu")
SPACE = four_param_space("shared scoring test space")


@pytest.fixture(scope="module")
def space():
    return space_from_text(SPACE, "supernet_shared_test")


@pytest.fixture(scope="module")
def trained(space):  # noqa: ANN001, ANN201
    """Trained on the space's digits, so that the configurations score differently."""
    return train_supernet(space, SupernetSettings(2, SandwichRule(2)), device=CPU).supernet


@pytest.mark.parametrize("name, size", [("oct_resnet20", 32), ("oct_mobilenetv2", 64), ("oct_resnet26", 64)])
def test_the_step_chain_is_the_forward_pass_of_every_family(name, size):
    torch.manual_seed(0)
    model = create_model(name, 0.0, num_classes=10, in_chans=3, input_size=size, width_mult=0.25)
    supernet = Supernet(model, {slot: (0.0, 0.5) for slot in model.alphas if slot.endswith("inner")})
    supernet.switch({slot: 0.5 for slot in supernet.grid})
    supernet.eval()
    steps = forward_steps(supernet)
    assert len(steps) > 3  # stages opened into blocks
    x = torch.randn(2, 3, size, size)
    with torch.no_grad():
        assert torch.equal(run_steps(steps, x), supernet(x))
    # a step depends on every searched slot read up to it, in the order first read
    assert all(set(a.slots) <= set(b.slots) for a, b in zip(steps, steps[1:], strict=False))
    assert set(steps[-1].slots) == set(supernet.grid)


def test_prefix_order_puts_configurations_that_share_a_prefix_together(space, trained):
    configurations = every_configuration(space)
    random.Random(0).shuffle(configurations)
    steps = forward_steps(trained)
    ordered = [configurations[i] for i in prefix_order(steps, configurations)]
    first = steps[-1].slots[0]
    assert first == "stage1.out"  # the stem's output, read first
    changes = sum(a.by_slot[first] != b.by_slot[first] for a, b in zip(ordered, ordered[1:], strict=False))
    assert changes == len(space.params[0].choices) - 1


@pytest.mark.parametrize("bn", ["recalibrate", "switchable"])
@pytest.mark.parametrize("layout", ["true", "false"])
def test_shared_scoring_gives_the_scores_of_one_configuration_at_a_time(space, trained, bn, layout):
    spaced = space_from_text(SPACE.replace("threads: 1}", f"threads: 1, channels_last: {layout}}}"), "shared_layout")
    assert spaced.budget("proxy").channels_last == (layout == "true")
    configurations = every_configuration(spaced)[::3] + [spaced.configuration(0.5)]
    random.Random(1).shuffle(configurations)
    train, val = readers(spaced, CPU)
    args = (trained, configurations, EvaluationSettings(bn, 150), train, val, recipe_for(CPU))
    before = {k: v.clone() for k, v in trained.state_dict().items()}
    stem_calls = []
    hook = trained.model.stem.register_forward_hook(lambda *_: stem_calls.append(1))
    try:
        shared = score_configurations(*args)
        shared_calls, stem_calls[:] = len(stem_calls), []
        alone = score_configurations(*args, shared=False)
    finally:
        hook.remove()
    assert [s.configuration.key for s in shared] == [c.key for c in configurations]
    assert [s.correct for s in shared] == [s.correct for s in alone]
    assert len({s.correct for s in shared}) > 1  # the configurations differ: the comparison can fail
    # the stem ran once per distinct stage1.out alpha and pass, not once per configuration
    distinct = len({c.by_slot["stage1.out"] for c in configurations})
    assert shared_calls == distinct * (2 if bn == "recalibrate" else 1)
    assert len(stem_calls) > shared_calls
    # scoring works on a copy: the trained supernet's weights and statistics are untouched
    assert all(torch.equal(v, before[k]) for k, v in trained.state_dict().items())


@pytest.mark.parametrize("channels", [6, 16, 32])
def test_channels_last_batch_norm_trains_as_exactly_as_contiguous(channels):
    """PyTorch's channels-last CPU batch norm is about 1e-5 off in float32 (it put the supernet's
    gradients 2-6% off float64's); the switchable one keeps channels-last as close as contiguous."""
    from octsearch.supernet.switchable import SwitchableBatchNorm

    torch.manual_seed(0)
    x = torch.randn(50, channels, 14, 14, dtype=torch.float64) * 0.5 + 4  # mean/std 8, as after a ReLU
    g = torch.randn_like(x)
    results = {}
    for name, dtype, fmt in [("reference", torch.float64, torch.contiguous_format),
                             ("contiguous", torch.float32, torch.contiguous_format),
                             ("channels_last", torch.float32, torch.channels_last)]:
        norm = SwitchableBatchNorm(channels, (0.0, 0.5), "s").to(dtype).train()
        norm.switch(0.5)
        # each branch is its own map, as a convolution returns it
        x_h, x_l = (part.to(dtype).contiguous(memory_format=fmt).requires_grad_()
                    for part in (x[:, :norm.high], x[:, norm.high:]))
        y_h, y_l = norm((x_h, x_l))
        torch.cat([y_h, y_l], 1).backward(g.to(dtype))
        results[name] = [t.detach().double() for t in (y_h, x_h.grad, x_l.grad, norm.weight.grad, norm.running_var)]
    for got, contiguous, want in zip(results["channels_last"], results["contiguous"], results["reference"], strict=True):
        error = float((got - want).norm() / want.norm())
        assert error <= max(4 * float((contiguous - want).norm() / want.norm()), 1e-6), error
