"""`budget.ema`: validation of a moving average of the weights, off by default, checked on load."""

from __future__ import annotations

from pathlib import Path

import pytest

from octsearch.errors import SpaceError
from octsearch.spaces import load_space
from octsearch.trial import run_trial

SPACE = """\
model: {{name: oct_resnet20, args: {{width_mult: 0.5}}}}
data: {{name: digits, seed: 0, val_fraction: 0.25, limit: 400, image_size: 16, options: {{resize: pad}}}}
search: {{grid: [0, 0.5], params: {{stage1.out: {{slots: [stage1.out]}}}}}}
budget: {{epochs: 2, batch_size: 32, optimizer: {{name: sgd, lr: 0.05}}, threads: 1{ema}}}
"""


def space(tmp_path: Path, ema: str, name: str):
    path = tmp_path / f"{name}.yaml"
    path.write_text(SPACE.format(ema=f", ema: {ema}" if ema else ""))
    return load_space(path)


def test_the_moving_average_is_validated_when_on_and_nothing_changes_when_off(tmp_path):
    plain = run_trial(a := space(tmp_path, "", "a"), a.uniform(0.5), seed=1, device="cpu")
    off = run_trial(b := space(tmp_path, "0", "b"), b.uniform(0.5), seed=1, device="cpu")
    on = space(tmp_path, "0.9", "c")
    assert on.budget().ema == 0.9 and space(tmp_path, "", "d").budget().ema == 0
    averaged = [run_trial(on, on.uniform(0.5), seed=1, device="cpu", evaluate_every_epoch=True) for _ in range(2)]
    assert off.correct == plain.correct and off.epoch_accuracies == plain.epoch_accuracies
    assert averaged[0].correct == averaged[1].correct  # repeatable
    assert averaged[0].epoch_accuracies != plain.epoch_accuracies  # other weights were validated


@pytest.mark.parametrize("value", ["1", "-0.1", "true", "1.5"])
def test_an_ema_outside_zero_to_one_is_refused_in_one_line(tmp_path, value):
    with pytest.raises(SpaceError) as error:
        space(tmp_path, value, "bad")
    assert "ema" in str(error.value) and "\n" not in str(error.value).strip()
