"""Supernet training on real (tiny) MNIST: an interrupted training resumes to the same weights, a
checkpoint of another space loads nothing, recalibration refuses too few images."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from supernet_spaces import two_alpha_space

from octsearch.errors import ConfigError
from octsearch.spaces import space_from_text
from octsearch.supernet.evaluate import readers, score_configurations
from octsearch.supernet.settings import EvaluationSettings, SandwichRule, SupernetSettings
from octsearch.supernet.training import train_supernet
from octsearch.trial.recipe import recipe_for

SPACE = two_alpha_space("supernet training test space", width=0.5, limit=400, batch=50, lr=0.1)
SETTINGS = SupernetSettings(2, SandwichRule(1), seed=3)
CPU = torch.device("cpu")


class _Stop(Exception):
    pass


def _stop_after_first(epoch: int, loss: float) -> None:
    if epoch == 1:
        raise _Stop


@pytest.fixture(scope="module")
def space():
    return space_from_text(SPACE, "supernet_training_test")


@pytest.fixture(scope="module")
def uninterrupted(space, tmp_path_factory):  # noqa: ANN001, ANN201
    return train_supernet(space, SETTINGS, checkpoint=tmp_path_factory.mktemp("a") / "sn.pt", device=CPU)


def test_an_interrupted_training_resumes_to_the_same_weights(space, uninterrupted, tmp_path: Path):
    checkpoint = tmp_path / "sn.pt"
    with pytest.raises(_Stop):
        train_supernet(space, SETTINGS, checkpoint=checkpoint, device=CPU, on_epoch=_stop_after_first)
    assert checkpoint.exists()
    resumed = train_supernet(space, SETTINGS, checkpoint=checkpoint, device=CPU)
    assert resumed.resumed_from == 1 and uninterrupted.resumed_from == 0
    want, got = uninterrupted.supernet.state_dict(), resumed.supernet.state_dict()
    assert want.keys() == got.keys()
    for key in want:
        torch.testing.assert_close(got[key], want[key], rtol=0, atol=0, msg=key)


def test_the_trained_supernet_scores_better_than_chance(space, uninterrupted):
    train, val = readers(space, CPU)
    configurations = [space.configuration(0.0), space.configuration(0.5)]
    scores = score_configurations(uninterrupted.supernet, configurations, EvaluationSettings("recalibrate", 100),
                                  train, val, recipe_for(CPU))
    assert [s.n_val for s in scores] == [100, 100]
    assert all(s.accuracy > 0.3 for s in scores), [s.accuracy for s in scores]  # chance: 0.1


def test_a_checkpoint_of_another_space_loads_nothing(space, uninterrupted, tmp_path: Path):
    other = space_from_text(SPACE.replace("limit: 400", "limit: 360"), "other_space")
    checkpoint = tmp_path / "sn.pt"
    with pytest.raises(_Stop):
        train_supernet(other, SETTINGS, checkpoint=checkpoint, device=CPU, on_epoch=_stop_after_first)
    written = checkpoint.read_bytes()
    with pytest.raises(ConfigError) as err:
        train_supernet(space, SETTINGS, checkpoint=checkpoint, device=CPU)
    assert "is of space 'other_space'" in str(err.value) and "nothing loaded" in str(err.value)
    assert "\n" not in str(err.value)
    assert checkpoint.read_bytes() == written
    with pytest.raises(ConfigError, match="nothing loaded"):
        train_supernet(other, SupernetSettings(3, SandwichRule(1), seed=3), checkpoint=checkpoint, device=CPU)


def test_too_few_training_images_to_recalibrate_is_one_line(space, uninterrupted):
    train, val = readers(space, CPU)
    with pytest.raises(ConfigError, match=r"recalibrating batch norm needs 500 training images; the training split "
                                          r"has 300"):
        score_configurations(uninterrupted.supernet, [space.configuration(0.0)], EvaluationSettings("recalibrate", 500),
                             train, val, recipe_for(CPU))
