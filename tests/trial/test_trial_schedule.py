"""Learning-rate schedules and optimizers of the proxy trial."""

from __future__ import annotations

import pytest
import torch

from octsearch.spaces.schema import OptimizerSpec, ScheduleSpec
from octsearch.trial.train import lr_factor, make_optimizer, steps_per_epoch


@pytest.mark.parametrize("name", ["cosine", "constant", "onecycle"])
def test_schedule_shapes(name: str) -> None:
    f = lr_factor(ScheduleSpec(name=name, warmup=0.2), 100)
    values = [f(step) for step in range(100)]
    assert max(values) == pytest.approx(1.0)
    assert values[19] == pytest.approx(1.0)  # warm-up ends after 20% of the steps
    assert all(a <= b + 1e-12 for a, b in zip(values[:20], values[1:20], strict=False))  # rises
    if name == "constant":
        assert values[20:] == [1.0] * 80
    else:
        assert all(a >= b for a, b in zip(values[20:], values[21:], strict=False)) and values[-1] < 0.01
    first = values[0]
    assert first == pytest.approx(1 / 25, abs=0.01) if name == "onecycle" else first == pytest.approx(1 / 20)


def test_no_warmup_starts_at_full_rate() -> None:
    assert lr_factor(ScheduleSpec(name="cosine", warmup=0.0), 10)(0) == 1.0


def test_optimizers_and_steps() -> None:
    model = torch.nn.Linear(2, 2)
    sgd = make_optimizer(model, OptimizerSpec(name="sgd", lr=0.1, momentum=0.0, nesterov=True))
    assert isinstance(sgd, torch.optim.SGD) and sgd.defaults["nesterov"] is False  # no momentum: plain SGD
    assert isinstance(make_optimizer(model, OptimizerSpec(name="adamw", lr=1e-3)), torch.optim.AdamW)
    assert isinstance(make_optimizer(model, OptimizerSpec(name="adam", lr=1e-3)), torch.optim.Adam)
    assert steps_per_epoch(100, 32) == 4 and steps_per_epoch(97, 32) == 3  # a last batch of 1 is dropped
