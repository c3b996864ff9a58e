"""A Tune stopper that ends the whole experiment once Ctrl-C set the shared flag."""

from __future__ import annotations

from ray.tune.stopper import Stopper


class StopOnFlag(Stopper):
    def __init__(self, flag: dict[str, bool]) -> None:
        self._flag = flag

    def __call__(self, trial_id: str, result: dict) -> bool:
        return False

    def stop_all(self) -> bool:
        return self._flag["stop"]
