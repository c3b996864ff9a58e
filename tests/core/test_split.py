from fractions import Fraction

import pytest

from octsearch.core.split import low_channels, split_channels
from octsearch.errors import ConfigError


def test_float_trap_is_avoided():
    # int(0.29 * 100) == 28 in floating point; the exact split is 29.
    assert int(0.29 * 100) == 28
    assert split_channels(100, 0.29) == (71, 29)


@pytest.mark.parametrize("channels", [1, 3, 7, 8, 16, 24, 64, 100, 255, 256, 1000])
@pytest.mark.parametrize("alpha", [0, 0.1, 0.125, 0.2, 0.25, 0.29, 0.3, 0.33, 0.5, 0.57, 0.7, 0.75, 0.9, 0.99])
def test_split_is_exact_floor(channels, alpha):
    high, low = split_channels(channels, alpha)
    exact = Fraction(str(alpha)) * channels
    assert low == exact.numerator // exact.denominator
    assert high + low == channels
    assert high >= 1


def test_fraction_input():
    assert low_channels(96, Fraction(1, 3)) == 32


@pytest.mark.parametrize("alpha", [-0.1, 1.0, 1.5, float("nan"), "0.5", True])
def test_bad_alpha_is_one_line_error(alpha):
    with pytest.raises(ConfigError) as e:
        split_channels(16, alpha)
    assert "\n" not in str(e.value)
    assert "[0, 1)" in str(e.value)


def test_bad_channels():
    with pytest.raises(ConfigError, match="channels=0"):
        split_channels(0, 0.5)
