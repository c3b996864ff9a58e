"""The one place that splits channels into high- and low-frequency parts.

``c_low = floor(alpha * C)`` computed exactly: alpha is read as the decimal it was written as
(``Fraction(str(alpha))``), so ``split_channels(100, 0.29)`` gives 29 low channels where the float
product ``0.29 * 100`` would floor to 28.
"""

from __future__ import annotations

import math
from fractions import Fraction

from octsearch.errors import ConfigError


def check_alpha(alpha: float, what: str = "alpha") -> float:
    """Return ``alpha`` as a float if it lies in [0, 1), else raise a one-line ConfigError."""
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float, Fraction)):
        raise ConfigError(f"{what}={alpha!r} is not a number; accepted: a number in [0, 1)")
    if not (0 <= alpha < 1) or math.isnan(alpha):
        raise ConfigError(f"{what}={alpha!r} is outside [0, 1); accepted: 0 <= alpha < 1")
    return float(alpha)


def low_channels(channels: int, alpha: float) -> int:
    """Number of low-frequency channels: ``floor(alpha * channels)``, exactly."""
    check_alpha(alpha)
    if isinstance(alpha, Fraction):
        exact = alpha
    else:
        exact = Fraction(repr(float(alpha)))  # the shortest decimal that round-trips: 0.29 -> 29/100
    return math.floor(exact * channels)


def split_channels(channels: int, alpha: float) -> tuple[int, int]:
    """Split ``channels`` into ``(high, low)`` with ``low = floor(alpha * channels)``."""
    if not isinstance(channels, int) or channels < 1:
        raise ConfigError(f"channels={channels!r} must be a positive integer")
    low = low_channels(channels, alpha)
    return channels - low, low
