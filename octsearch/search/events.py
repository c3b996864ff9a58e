"""What a running search tells its caller, as typed values; only the CLI turns them into text."""

from __future__ import annotations

from dataclasses import dataclass

from octsearch.configuration import Configuration


@dataclass(frozen=True)
class Resumed:
    """Trials a killed driver left running were marked failed (interrupted), to be run again."""

    reconciled: int


@dataclass(frozen=True)
class NothingLeft:
    """The search already has its trial budget; nothing was run."""

    name: str
    finished: int
    total: int


@dataclass(frozen=True)
class ScreenStarted:
    """``--evaluator supernet``: the supernet (``epochs``) scores the space into search
    ``companion`` before ``confirm`` configurations train stand-alone."""

    companion: str
    epochs: int
    confirm: int


@dataclass(frozen=True)
class SearchStarted:
    name: str
    remaining: int
    sampler: str
    concurrency: int
    store_url: str
    ray_log: str | None


@dataclass(frozen=True)
class TrialStarted:
    number: int
    configuration: Configuration
    repeat: bool


@dataclass(frozen=True)
class TrialEnded:
    """``outcome``: complete, repeat, pruned, interrupted, failed or lost (with its worker: it is
    run again; ``error`` says why for the last three)."""

    number: int | None  # None: the trial failed before it was registered
    outcome: str
    accuracy: float | None = None
    error: str | None = None


@dataclass(frozen=True)
class Progress:
    """A snapshot of a running search; counts are trials of this launch, seconds wall time.
    ``hypervolume`` is accuracy x share of the alpha-0 FLOPs saved, against the stored reference."""

    done: int
    running: int
    failed: int
    pruned: int
    infeasible: int
    skipped: int
    repeats: int
    total: int
    front_size: int
    hypervolume: float
    elapsed: float
    lost: int = 0  # lost with their worker, and run again (not counted in ``finished``)

    @property
    def finished(self) -> int:
        return self.done + self.failed + self.pruned

    @property
    def eta(self) -> float | None:
        """Seconds left at the pace so far; None before any trial finished."""
        if self.finished == 0:
            return None
        return self.elapsed / self.finished * max(0, self.total - self.finished)


Event = Resumed | NothingLeft | ScreenStarted | SearchStarted | TrialStarted | TrialEnded | Progress
