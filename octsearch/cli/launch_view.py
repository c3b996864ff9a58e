"""What ``octsearch launch`` shows while a search runs: the driver's events as text."""

from __future__ import annotations

import time
from collections.abc import Callable

from octsearch.search.events import Event, NothingLeft, Progress, Resumed, SearchStarted, TrialEnded


def progress_text(p: Progress) -> str:
    eta = "?" if p.eta is None else duration(p.eta)
    extra = f" pruned {p.pruned}" if p.pruned else ""
    extra += f" infeasible {p.infeasible}" if p.infeasible else ""
    extra += f" already-known {p.skipped}" if p.skipped else ""
    extra += f" (of which repeat seeds {p.repeats})" if p.repeats else ""
    extra += f" lost-with-worker {p.lost} (run again)" if p.lost else ""
    return (f"trials {p.finished}/{p.total}: done {p.done} running {p.running} failed {p.failed}{extra} | "
            f"front {p.front_size} hypervolume {p.hypervolume:.4g} (accuracy x share of alpha-0 FLOPs saved) | "
            f"elapsed {duration(p.elapsed)} eta {eta}")


def duration(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 60}m{seconds % 60:02d}s"


def notice_text(event: Event) -> str | None:
    """The one sentence an event other than progress gets, or None for events not shown."""
    if isinstance(event, Resumed):
        return f"resumed: {event.reconciled} trial(s) left running by an earlier driver marked failed"
    if isinstance(event, NothingLeft):
        return f"search {event.name!r} already has {event.finished} of {event.total} trials; raise --trials to continue"
    if isinstance(event, TrialEnded) and event.outcome == "lost":
        return f"trial {event.number} {event.error}; running it again on another worker"
    if isinstance(event, SearchStarted):
        return (f"search {event.name!r}: {event.remaining} trial(s) to run, sampler {event.sampler}, "
                f"{event.concurrency} at a time; store {event.store_url}; "
                f"Ray logs in {event.ray_log or 'the Ray session dir'}")
    return None


class LaunchView:
    """Writes events: the progress line rewritten in place on a terminal, one line per change
    otherwise (logs, CI); notices on lines of their own."""

    def __init__(self, write: Callable[[str], None], tty: bool, min_interval: float = 0.5) -> None:
        self._write, self._tty, self._min = write, tty, min_interval
        self._last_text = ""
        self._last_time = 0.0

    def __call__(self, event: Event) -> None:
        if isinstance(event, Progress):
            self._show(progress_text(event))
            return
        text = notice_text(event)
        if text is not None:
            self._end_line()
            self._write(text + "\n")

    def _show(self, text: str) -> None:
        now = time.monotonic()
        if text == self._last_text or (self._tty and now - self._last_time < self._min):
            return
        self._last_text, self._last_time = text, now
        self._write(f"\r\x1b[2K{text}" if self._tty else f"{text}\n")

    def _end_line(self) -> None:
        if self._tty and self._last_text:
            self._write("\n")
            self._last_text = ""

    def close(self) -> None:
        self._end_line()
