"""The trace-free totals (core/flop_totals.py) equal fvcore's count (core/flops.py) exactly."""

import random

import pytest
import torch
from small_models import SMALL

from octsearch.core.flop_totals import UncountedOperator, count_totals
from octsearch.core.flops import count_flops
from octsearch.core.registry import alpha_slots, create_model, list_models

GRID = (0, 0.125, 0.25, 0.5, 0.75)


def _configurations(name: str, args: dict, uniform: tuple = (0, 0.25, 0.5), n_mixed: int = 2) -> list:
    rng = random.Random(name)
    slots = [s.name for s in alpha_slots(name, **args)]
    return [*uniform, *({s: rng.choice(GRID) for s in slots} for _ in range(n_mixed))]


def _same(name: str, args: dict, alphas, devices: tuple = ("cpu", "meta")) -> None:
    reference = count_flops(create_model(name, alphas, **args))
    for device in devices:
        with torch.device(device):
            model = create_model(name, alphas, **args)
        got = count_totals(model)
        assert (got.flops_paper, got.flops_all, got.param_count) == (
            reference.flops_paper, reference.flops_all, reference.param_count), (name, alphas, device)


@pytest.mark.parametrize("name", list_models())
def test_totals_equal_fvcore_for_every_family(name):
    for alphas in _configurations(name, SMALL[name]):
        _same(name, SMALL[name], alphas)


@pytest.mark.parametrize("name,args", [
    ("oct_resnet20", dict(input_size=28, in_chans=1, width_mult=0.5)),  # the default space's model
    ("oct_resnet20", dict(input_size=32)),
    ("oct_mobilenetv2", dict(input_size=96, num_classes=10)),
])
def test_totals_equal_fvcore_at_search_sizes(name, args):
    for alphas in _configurations(name, args, uniform=GRID):
        _same(name, args, alphas, devices=("cpu",))


def test_the_model_is_left_as_it_was():
    model = create_model("oct_resnet20", 0.5, **SMALL["oct_resnet20"]).train()
    threads = torch.get_num_threads()
    count_totals(model)
    assert model.training and torch.get_num_threads() == threads
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())


class _Gated(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 3)
        self.model_args = {"in_chans": 3, "input_size": 8}

    def forward(self, x):
        return torch.sigmoid(self.conv(x))


def test_an_operator_without_a_rule_is_refused_not_skipped():
    with pytest.raises(UncountedOperator, match="sigmoid"):
        count_totals(_Gated())


def test_the_cost_of_a_configuration_falls_back_to_fvcore(monkeypatch):
    from octsearch.core import flop_totals
    from octsearch.spaces import cost

    def refuse(model, input_size=None):
        raise UncountedOperator("as if")

    args = dict(input_size=16, in_chans=1, num_classes=10)
    alphas = tuple((s.name, 0.25) for s in alpha_slots("oct_resnet20", **args))
    cost._count.cache_clear()
    monkeypatch.setattr(flop_totals, "count_totals", refuse)
    try:
        got = cost.count_cost("oct_resnet20", args, alphas)
    finally:
        cost._count.cache_clear()
    reference = count_flops(create_model("oct_resnet20", dict(alphas), **args))
    assert (got.flops_paper, got.flops_all, got.param_count) == (
        reference.flops_paper, reference.flops_all, reference.param_count)
