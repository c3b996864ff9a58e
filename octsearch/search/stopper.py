"""A Tune stopper that ends the whole experiment once Ctrl-C asked the search to stop."""

from __future__ import annotations

from collections.abc import Callable

from ray.tune.stopper import Stopper


class StopOnFlag(Stopper):
    def __init__(self, should_stop: Callable[[], bool]) -> None:
        self._should_stop = should_stop

    def __call__(self, trial_id: str, result: dict) -> bool:
        return False

    def stop_all(self) -> bool:
        return self._should_stop()
