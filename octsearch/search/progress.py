"""One live progress line for a running search (the CLI passes the writer)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Progress:
    """A snapshot of a running search; counts are trials of this launch."""

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

    @property
    def eta(self) -> float | None:
        finished = self.done + self.failed + self.pruned
        if finished == 0:
            return None
        return self.elapsed / finished * max(0, self.total - finished)

    def line(self) -> str:
        eta = "?" if self.eta is None else _duration(self.eta)
        extra = f" pruned {self.pruned}" if self.pruned else ""
        extra += f" infeasible {self.infeasible}" if self.infeasible else ""
        extra += f" already-known {self.skipped}" if self.skipped else ""
        extra += f" (of which repeat seeds {self.repeats})" if self.repeats else ""
        return (f"trials {self.done + self.failed + self.pruned}/{self.total}: done {self.done} "
                f"running {self.running} failed {self.failed}{extra} | front {self.front_size} "
                f"hypervolume {self.hypervolume:.4g} (accuracy x share of alpha-0 FLOPs saved) | "
                f"elapsed {_duration(self.elapsed)} eta {eta}")


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 60}m{seconds % 60:02d}s"


class ProgressLine:
    """Writes :class:`Progress` snapshots: rewritten in place on a terminal, one line per change
    otherwise (logs, CI)."""

    def __init__(self, write: Callable[[str], None], tty: bool, min_interval: float = 0.5) -> None:
        self._write, self._tty, self._min = write, tty, min_interval
        self._last_text = ""
        self._last_time = 0.0

    def show(self, progress: Progress, force: bool = False) -> None:
        text = progress.line()
        now = time.monotonic()
        if text == self._last_text or (not force and now - self._last_time < self._min and self._tty):
            return
        self._last_text, self._last_time = text, now
        self._write(f"\r\x1b[2K{text}" if self._tty else f"{text}\n")

    def close(self) -> None:
        if self._tty and self._last_text:
            self._write("\n")
