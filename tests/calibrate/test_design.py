"""The pilot's design: the uniform points, and every parameter taking each alpha equally often."""

from __future__ import annotations

import itertools
from collections import Counter
from pathlib import Path

import pytest

from octsearch.calibrate.design import (
    balanced_design,
    default_size,
    orthogonal_size,
    pilot_configurations,
)
from octsearch.errors import ConfigError
from octsearch.spaces import load_space

SPACE = """\
model: {{name: oct_resnet20, args: {{width_mult: 0.5}}}}
data: {{name: digits, seed: 0, val_fraction: 0.25, limit: 240, image_size: 16, options: {{resize: pad}}}}
search:
  grid: {grid}
  params:
    stage1.out: {{slots: [stage1.out]}}
    stage1.inner: {{slots: ["stage1.block*.inner"]}}
    stage2.out: {{slots: [stage2.out]}}
    stage2.inner: {{slots: ["stage2.block*.inner"]}}
"""


def space(tmp_path: Path, grid: str):
    path = tmp_path / "s.yaml"
    path.write_text(SPACE.format(grid=grid))
    return load_space(path)


def test_five_alphas_get_an_orthogonal_array_every_pair_of_parameters_every_pair_of_alphas_once(tmp_path):
    s = space(tmp_path, "[0, 0.125, 0.25, 0.5, 0.75]")
    assert orthogonal_size(s) == default_size(s) == 25
    design = balanced_design(s, 25, seed=3)
    assert design.strength == 2 and len(design.rows) == 25
    for a, b in itertools.combinations(range(4), 2):
        assert Counter((row[a], row[b]) for row in design.rows) == {pair: 1 for pair in itertools.product(range(5), repeat=2)}
    assert balanced_design(s, 25, seed=3) == design and balanced_design(s, 25, seed=4) != design  # seeded


def test_four_alphas_get_a_latin_hypercube_each_alpha_equally_often(tmp_path):
    s = space(tmp_path, "[0, 0.25, 0.5, 0.75]")  # 4 is not prime: no orthogonal array of 16 rows here
    assert orthogonal_size(s) is None and default_size(s) == 16
    design = balanced_design(s, 12, seed=0)
    assert design.strength == 1
    for column in range(4):
        assert Counter(row[column] for row in design.rows) == {level: 3 for level in range(4)}


def test_the_pilot_holds_the_uniform_points_first_and_each_configuration_once(tmp_path):
    s = space(tmp_path, "[0, 0.25, 0.5]")
    configurations, design = pilot_configurations(s, seed=1)
    uniform = s.uniform_configurations()
    assert [c.key for c in configurations[: len(uniform)]] == [c.key for c in uniform]
    keys = [c.key for c in configurations]
    assert len(keys) == len(set(keys))
    rows = {tuple(row) for row in design.rows}
    assert len(configurations) == len(uniform) + len(rows - {(i,) * 4 for i in range(3)})
    with pytest.raises(ConfigError, match=r"--configurations 1; accepted: an integer from 2 to 81"):
        pilot_configurations(s, 1)
