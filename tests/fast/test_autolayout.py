"""prepare_for_training(layout="auto"): a measured choice per shape that leaves no trace.

The measurement is real (the first training steps rotate through the candidates); which candidate
wins depends on the machine, so these tests check what holds whatever wins: every candidate
computes the reference's outputs and gradients, the measuring steps train like the reference,
decisions are cached per shape, and the decision rule (:func:`choose`) on given timings.
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


@pytest.fixture(autouse=True)
def one_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def models(alpha: float = 0.5, name: str = "oct_resnet20", **args):
    torch.manual_seed(0)
    reference = create_model(name, alpha, **(args or MODEL)).train()
    model = copy.deepcopy(reference)
    return reference, model, prepare_for_training(model)


def hook_of(fast) -> AutoLayout:
    return next(h for h in fast._forward_pre_hooks.values() if isinstance(h, AutoLayout))


def test_choose_keeps_the_default_within_the_margin_and_takes_a_clear_winner():
    assert choose({"reference": 1.0, "channels_last": 0.97, "batch_last": 1.0}, "batch_last") == "batch_last"
    assert choose({"reference": 0.8, "channels_last": 0.97, "batch_last": 1.0}, "batch_last") == "reference"
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


def test_the_measuring_steps_train_like_the_reference():
    # float64: the batch-last kernels do not take it, so reference and channels-last rotate
    torch.manual_seed(0)
    reference = create_model("oct_resnet20", 0.5, **MODEL).double().train()
    model = copy.deepcopy(reference)
    fast = prepare_for_training(model)
    steps = 2 * (1 + autolayout.ROUNDS) + 2  # the longest rotation, the deciding step, one more
    train(fast, model, steps, dtype=torch.float64)
    train(reference, reference, steps, dtype=torch.float64)
    assert not autolayout.measuring(fast) and layout_of(fast) in ("reference", "channels_last")
    for a, b in zip(reference.parameters(), model.parameters(), strict=True):
        assert (a - b).abs().max().item() <= 1e-9


def test_one_decision_per_structure_and_sample_shape():
    _, model, fast = models(0.5)
    warm_up = len(hook_of(fast).candidates(torch.randn(16, 3, 16, 16)))
    train(fast, model, warm_up)
    train(fast, model, warm_up, batch=8)  # short batches: they run, but are not counted
    assert autolayout.measuring(fast) and not autolayout._DECISIONS
    train(fast, model, 2 * warm_up + 1)  # the timed rounds (the second may be cut short)
    assert not autolayout.measuring(fast) and len(autolayout._DECISIONS) == 1
    _, model, again = models(0.5)  # another trial of the same configuration in this process
    train(again, model, 1)
    assert not autolayout.measuring(again) and layout_of(again) == layout_of(fast)
    _, model, other = models(0.25)
    train(other, model, 1)
    assert autolayout.measuring(other)


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
    assert not autolayout.measuring(fast) and layout_of(fast) == "channels_last"


@pytest.mark.parametrize("evidence", [
    [("batch_last", True)] * 2,  # too few
    [("batch_last", True), ("batch_last", False), ("batch_last", True)],  # one without a clear winner
    [("batch_last", True), ("channels_last", True), ("batch_last", True)],  # winners differ
])
def test_anything_less_keeps_measuring(evidence):
    _, model, fast = models(0.5)
    siblings = hook_of(fast).siblings(torch.randn(16, 3, 16, 16))
    autolayout._EVIDENCE[siblings] = evidence
    assert autolayout.settled(siblings) is None
    train(fast, model, 1)
    assert autolayout.measuring(fast)


def test_a_measured_decision_is_recorded_as_evidence():
    _, model, fast = models(0.5)
    train(fast, model, 3 * (1 + autolayout.ROUNDS) + 1)
    (evidence,) = autolayout._EVIDENCE.values()
    assert len(evidence) == 1 and evidence[0][0] == layout_of(fast)
