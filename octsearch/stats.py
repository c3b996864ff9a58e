"""Small statistics shared by the trial (which measures) and the store (which aggregates)."""

from __future__ import annotations

import math


def binomial_stderr(accuracy: float, n: int) -> float:
    """Standard error of an accuracy measured on ``n`` images: ``sqrt(p (1 - p) / n)``
    (NaN for ``n <= 0``)."""
    return math.sqrt(accuracy * (1.0 - accuracy) / n) if n > 0 else float("nan")
