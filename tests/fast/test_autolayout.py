"""prepare_for_training(layout="auto"): a measured choice per shape that leaves no trace.

The measurement is real (each candidate runs a forward and backward on the batch); which one wins
depends on the machine, so these tests check what holds whatever wins: every candidate computes
the reference's outputs and gradients, the measurement changes no gradient, statistic or RNG
state, decisions are cached per shape, and the rules (:func:`choose`, :func:`settled`) on given
timings and evidence.
"""

import copy

import pytest
import torch
import torch.nn.functional as F

from octsearch import prepare_for_training
from octsearch.core.registry import create_model
from octsearch.fast import autolayout
from octsearch.fast.autolayout import AutoLayout, choose, layout_of

MODEL = dict(input_size=16, width_mult=0.5)


@pytest.fixture(autouse=True)
def fresh_decisions():
    autolayout._DECISIONS.clear()
    autolayout._EVIDENCE.clear()


pytestmark = pytest.mark.usefixtures("one_thread")


def models(alpha: float = 0.5, name: str = "oct_resnet20", **args):
    torch.manual_seed(0)
    reference = create_model(name, alpha, **(args or MODEL)).train()
    model = copy.deepcopy(reference)
    return reference, model, prepare_for_training(model)


def hook_of(fast) -> AutoLayout:
    return next(h for h in fast._forward_pre_hooks.values() if isinstance(h, AutoLayout))


def test_choose_keeps_the_default_within_the_margin_but_never_a_path_slower_than_the_reference():
    assert choose({"reference": 1.0, "channels_last": 0.97, "batch_last": 1.0}, "batch_last") == "batch_last"
    assert choose({"reference": 0.8, "channels_last": 0.97, "batch_last": 1.0}, "batch_last") == "reference"
    assert choose({"reference": 0.99, "channels_last": 1.2, "batch_last": 1.0}, "batch_last") == "reference"
    assert choose({"reference": 1.2, "channels_last": 0.9}, "batch_last") == "channels_last"  # default absent


@pytest.mark.parametrize("alpha", [0, 0.5])
def test_every_candidate_computes_the_reference_outputs_and_gradients(alpha):
    reference, model, fast = models(alpha)
    hook = hook_of(fast)
    x, y = torch.randn(16, 3, 16, 16), torch.randint(0, 10, (16,))
    F.cross_entropy(reference(x), y).backward()
    expected = [p.grad for p in reference.parameters()]
    for name in hook.candidates(x):
        hook.apply(name)
        out = fast.forward(x)  # forward() skips the hook, which would apply the decision
        assert (out - reference(x)).abs().max().item() <= 1e-4, name
        grads = torch.autograd.grad(F.cross_entropy(out, y), list(model.parameters()))
        assert max((g - e).abs().max().item() for g, e in zip(grads, expected, strict=True)) <= 1e-4, name


def train(fast, model, steps: int, batch: int = 16, dtype=torch.float32, side: int = 16):
    """``steps`` SGD steps through ``fast``; the same steps on ``model`` when it is a reference."""
    gen = torch.Generator().manual_seed(3)
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    for _ in range(steps):
        x = torch.randn(batch, 3, side, side, generator=gen, dtype=dtype)
        y = torch.randint(0, 10, (batch,), generator=gen)
        opt.zero_grad()
        F.cross_entropy(fast(x), y).backward()
        opt.step()


def test_the_measurement_changes_no_gradient_statistic_or_rng_state():
    reference, model, fast = models(0.25, "oct_mobilenetv2", input_size=32, width_mult=0.35, num_classes=10)
    x = torch.randn(16, 3, 32, 32)
    torch.manual_seed(7)
    expected = reference(x)
    rng = torch.get_rng_state()
    torch.manual_seed(7)
    got = fast(x)  # measures first, inside the forward
    assert layout_of(fast) in hook_of(fast).candidates(x)
    assert torch.equal(torch.get_rng_state(), rng)
    assert (expected - got).abs().max().item() <= 1e-4
    assert all(p.grad is None for p in model.parameters())
    for (key, a), b in zip(reference.state_dict().items(), model.state_dict().values(), strict=True):
        assert torch.allclose(a, b, rtol=0, atol=1e-5), key  # one update of the running statistics


def test_one_decision_per_network_split_and_sample_shape():
    _, model, fast = models(0.5)
    train(fast, model, 1)
    train(fast, model, 1, batch=8)  # a short last batch: the same decision
    assert len(autolayout._DECISIONS) == 1
    (evidence,) = autolayout._EVIDENCE.values()
    assert len(evidence) == 1 and evidence[0][0] == layout_of(fast)
    _, model, again = models(0.5)  # another trial of the same configuration in this process
    train(again, model, 1)
    assert len(autolayout._DECISIONS) == 1 and layout_of(again) == layout_of(fast)
    _, model, other = models(0.25)
    train(other, model, 1)
    assert len(autolayout._DECISIONS) == 2


def test_forwards_without_gradients_measure_nothing():
    _, _, fast = models(0.5)
    x = torch.randn(16, 3, 16, 16)
    with torch.no_grad():
        fast(x)
    fast.eval()
    fast(x)
    assert not autolayout._DECISIONS and layout_of(fast) == autolayout.static_default(x)


def test_the_original_model_gets_no_hook():
    _, model, fast = models(0.5)
    assert not model._forward_pre_hooks and len(fast._forward_pre_hooks) == 1


def test_three_clear_wins_settle_a_new_split_of_the_same_network():
    _, model, fast = models(0.5)
    siblings = hook_of(fast).siblings(torch.randn(16, 3, 16, 16))
    autolayout._EVIDENCE[siblings] = [("channels_last", True)] * autolayout.SETTLE
    assert autolayout.settled(siblings) == "channels_last"
    train(fast, model, 1)
    assert layout_of(fast) == "channels_last" and not autolayout._EVIDENCE[siblings][autolayout.SETTLE:]


@pytest.mark.parametrize("evidence", [
    [("batch_last", True)] * 2,  # too few
    [("batch_last", True), ("batch_last", False), ("batch_last", True)],  # one without a clear winner
    [("batch_last", True), ("channels_last", True), ("batch_last", True)],  # winners differ
])
def test_anything_less_keeps_measuring(evidence):
    _, model, fast = models(0.5)
    siblings = hook_of(fast).siblings(torch.randn(16, 3, 16, 16))
    autolayout._EVIDENCE[siblings] = list(evidence)
    assert autolayout.settled(siblings) is None
    train(fast, model, 1)
    assert len(autolayout._EVIDENCE[siblings]) == len(evidence) + 1  # measured
