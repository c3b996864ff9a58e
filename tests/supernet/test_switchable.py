"""The switchable supernet: a configuration's sub-network is create_model's network with the same
weights and statistics; sandwich steps train every sampled split; switching keeps every shape."""

from __future__ import annotations

import random

import pytest
import torch
from supernet_spaces import four_param_space
from torch import nn

from octsearch.core.layers import OctBatchNorm2d, OctConvBNAct
from octsearch.errors import ConfigError
from octsearch.spaces import space_from_text
from octsearch.supernet.build import build_supernet
from octsearch.supernet.calibrate import recalibrate
from octsearch.supernet.sandwich import sandwich_step, step_configurations
from octsearch.supernet.settings import SandwichRule
from octsearch.supernet.subnet import extract_subnet
from octsearch.supernet.switchable import Supernet

SPACE = four_param_space("supernet test space", "width_mult: 0.5, num_classes: 10, in_chans: 1, input_size: 28")


@pytest.fixture(scope="module")
def space():
    return space_from_text(SPACE, "supernet_test")


def _images(n: int, seed: int) -> torch.Tensor:
    return torch.randn(n, 1, 28, 28, generator=torch.Generator().manual_seed(seed))


def _trained(space, steps: int = 3):  # noqa: ANN001, ANN202
    """A supernet after a few sandwich steps on generated data (statistics no longer the initial ones)."""
    torch.manual_seed(0)
    supernet = build_supernet(space)
    optimizer = torch.optim.SGD(supernet.parameters(), lr=0.05)
    rng = random.Random(0)
    for step in range(steps):
        optimizer.zero_grad()
        sandwich_step(supernet, _images(16, step), torch.randint(0, 10, (16,)),
                      step_configurations(space, SandwichRule(2), rng), distill=False)
        optimizer.step()
    return supernet


@pytest.mark.parametrize("params", [
    {"stage1.out": 0.25, "stage1.inner": 0.5, "stage2.out": 0.5, "stage2.inner": 0.25},
    {"stage1.out": 0.5, "stage1.inner": 0.0, "stage2.out": 0.25, "stage2.inner": 0.5},
    {"stage1.out": 0.0, "stage1.inner": 0.0, "stage2.out": 0.0, "stage2.inner": 0.0},
])
def test_a_configuration_computes_what_create_model_computes_with_the_same_weights(space, params):
    supernet = _trained(space)
    configuration = space.configuration(params)
    supernet.switch(configuration.by_slot)
    recalibrate(supernet, [_images(40, 99)])
    x = _images(8, 7)
    with torch.no_grad():
        expected = supernet.eval()(x)
        standalone = extract_subnet(supernet, space.model_name, space.model_args, configuration).eval()
        got = standalone(x)
    assert standalone.alphas == {**standalone.alphas, **configuration.by_slot}
    # the stand-alone model is create_model's own, with its per-branch batch norms
    assert any(m.bn_l is not None for m in standalone.modules() if isinstance(m, OctBatchNorm2d)) == any(params.values())
    torch.testing.assert_close(got, expected, rtol=0, atol=1e-6)
    assert float(expected.std()) > 0


def test_sandwich_steps_train_every_sampled_split_and_switching_keeps_shapes(space):
    torch.manual_seed(0)
    supernet = build_supernet(space)
    shapes = {k: v.shape for k, v in supernet.state_dict().items()}
    before = {k: v.clone() for k, v in supernet.state_dict().items()}
    configurations = step_configurations(space, SandwichRule(3), random.Random(1))
    supernet.train()
    sandwich_step(supernet, _images(16, 0), torch.randint(0, 10, (16,)), configurations, distill=True)
    # every split that a sampled configuration used got its batch-norm statistics and its gradients
    stem = supernet.model.stem
    used = {c.by_slot["stage1.out"] for c in configurations}
    for alpha in used:
        row = stem.bn.alphas.index(alpha)
        assert not torch.equal(stem.bn.running_mean[row], before["model.stem.bn.running_mean"][row])
    unused = set(stem.bn.alphas) - used
    for alpha in unused:
        row = stem.bn.alphas.index(alpha)
        assert torch.equal(stem.bn.running_mean[row], before["model.stem.bn.running_mean"][row])
    assert all(p.grad is not None and float(p.grad.abs().sum()) > 0 for p in supernet.parameters())
    for configuration in configurations + [space.configuration(0.5)]:
        supernet.switch(configuration.by_slot)
        assert supernet(_images(4, 3)).shape == (4, 10)
        assert {k: v.shape for k, v in supernet.state_dict().items()} == shapes
    # the low branch of the stem exists only where its slot has alpha > 0: its weights' gradient came
    # from the configurations that had one
    assert max(used) > 0


def test_switching_to_an_alpha_outside_the_grid_is_one_line(space):
    supernet = build_supernet(space)
    with pytest.raises(ConfigError, match=r"slot stage1.out alpha=0.75; accepted: 0.0, 0.25, 0.5"):
        supernet.switch({"stage1.out": 0.75})


class _StrayNorm(nn.Module):
    """A family whose batch norm does not follow its convolution: the supernet cannot tell its slot."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = OctConvBNAct(1, 8, 3, alpha_out=0.0, slot_out="a")
        self.extra = OctBatchNorm2d(8)
        self.model_name = "stray_norm_net"


def test_a_family_that_cannot_switch_is_named_in_one_line():
    with pytest.raises(ConfigError) as err:
        Supernet(_StrayNorm(), {"a": (0.0, 0.5)})
    assert "stray_norm_net cannot switch its alphas" in str(err.value)
    assert "\n" not in str(err.value)
