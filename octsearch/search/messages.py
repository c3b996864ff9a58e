"""What the driver sends a worker: one evaluation of one configuration, under one Tune config key."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from octsearch.configuration import Configuration

REQUEST_KEY = "evaluation"  # the only key of a dispatched trial's Tune config


@dataclass(frozen=True)
class EvaluationRequest:
    """Train ``configuration`` (counted by the driver, so the worker never counts again) with
    ``seed`` (None: the budget's seed); ``repeat_of`` is the stored trial a repeat seed belongs to;
    ``rerun_of`` the stored trial, lost with its worker, whose evaluation this runs again."""

    configuration: Configuration
    seed: int | None = None
    repeat_of: int | None = None
    rerun_of: int | None = None

    def as_config(self) -> dict[str, Any]:
        return {REQUEST_KEY: self}


def request_of(config: Mapping[str, Any]) -> EvaluationRequest:
    """The request inside a Tune trial's config."""
    return config[REQUEST_KEY]
