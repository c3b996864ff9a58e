"""What is left of a finite space: exhaustion and the uniform draw of an untaken configuration,
on a real space file (the tiny test space: 2 parameters x {0, .25, .5}, 9 configurations)."""

from __future__ import annotations

import random
from collections import Counter

from search_helpers import write_space

from octsearch.spaces import load_space
from octsearch.spaces.remaining import draw_untaken, every_configuration, exhausted


def test_every_configuration_once_and_the_draw_is_untaken_and_uniform(tmp_path):
    space = load_space(str(write_space(tmp_path)))
    every = every_configuration(space)
    assert len({c.key for c in every}) == len(every) == space.num_configurations == 9
    taken = {c.key for c in every[:6]}
    rng = random.Random(0)
    draws = Counter(draw_untaken(space, taken, rng).key for _ in range(900))
    assert set(draws) == {c.key for c in every[6:]}  # only the three untaken ones
    assert all(250 <= n <= 350 for n in draws.values())  # about 300 each: uniform


def test_a_space_whose_every_configuration_is_taken_is_exhausted(tmp_path):
    space = load_space(str(write_space(tmp_path)))
    keys = [c.key for c in every_configuration(space)]
    assert not exhausted(space, keys[:-1])
    assert draw_untaken(space, keys[:-1], random.Random(1)).key == keys[-1]
    assert exhausted(space, keys) and draw_untaken(space, keys, random.Random(1)) is None
