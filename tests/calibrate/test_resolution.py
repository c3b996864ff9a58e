"""The SE a search of a given size gets from the pooled model, per point of noise: it shrinks about
as 1/sqrt(trials) or faster, and a search too small for the model is refused in one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from octsearch.calibrate.resolution import unit_se
from octsearch.errors import ConfigError
from octsearch.spaces import load_space

SPACE = """\
model: {name: oct_resnet20, args: {width_mult: 0.5}}
data: {name: digits, seed: 0, val_fraction: 0.25, limit: 240, image_size: 16, options: {resize: pad}}
search:
  grid: [0, 0.25, 0.5]
  params:
    stage1.out: {slots: [stage1.out]}
    stage1.inner: {slots: ["stage1.block*.inner"]}
    stage2.out: {slots: [stage2.out]}
    stage2.inner: {slots: ["stage2.block*.inner"]}
"""


def test_the_search_se_per_unit_noise_shrinks_as_one_over_root_trials(tmp_path: Path):
    path = tmp_path / "s.yaml"
    path.write_text(SPACE)
    space = load_space(path)
    small, large = unit_se(space, 40), unit_se(space, 160)
    assert small > large > 0
    # 4x the trials: at least about half the SE (more at first: a small design separates the
    # effects from the FLOPs curve less well)
    assert 1.6 < small / large < 4
    assert unit_se(space, 40) == small  # seeded: the same design, the same factor
    with pytest.raises(ConfigError, match=r"^--trials 8: a search of 8 trials: 8 evaluations for a model of 11 terms"):
        unit_se(space, 8)
