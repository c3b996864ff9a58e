"""The Tune callback that hands every trial's start and end to the driver, the one writer of the
store and the one owner of trials in flight (Tune's callbacks see a trial's error; its searcher
calls do not, so a trial's end is handled here, once).

Workers only compute and report. A trial is registered RUNNING when it starts, so a driver killed
mid-search leaves rows that the next launch reconciles.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ray.tune import Callback

from octsearch.search.driver import SearchDriver
from octsearch.search.worker import final_report, request_of

log = logging.getLogger(__name__)


def first_line_of_error(trial: Any) -> str:
    """The exception line of a failed trial's traceback (last non-empty line)."""
    text = ""
    try:
        # Tune writes the error beside the driver first; get_error() reads the copy in the results
        # directory, which is synced later: at on_trial_error it is not there yet.
        local = Path(trial.error_file) if getattr(trial, "error_file", None) else None
        error = local.read_text() if local is not None and local.is_file() else trial.get_error()
        text = str(error) if error is not None else ""
    except Exception:  # noqa: BLE001 (the error file may be gone)
        text = ""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "the trial failed (no error text)"


def lost_with_its_worker(trial: Any) -> bool:
    """Whether the trial failed because the process, node or container running it died (Ray's
    actor, worker-crash and node-death errors, also as the cause of a task error), not because
    training raised. Read from the error Tune pickled for the trial."""
    from ray.exceptions import (
        LocalRayletDiedError,
        NodeDiedError,
        RayActorError,
        RayTaskError,
        WorkerCrashedError,
    )

    error = _pickled_error(trial)
    if isinstance(error, RayTaskError) and not isinstance(error, RayActorError):
        error = error.as_instanceof_cause()
    return isinstance(error, (RayActorError, WorkerCrashedError, NodeDiedError, LocalRayletDiedError))


def _pickled_error(trial: Any) -> BaseException | None:
    """The exception Tune pickled for the trial: the driver-side copy first (Tune writes it there
    as the error happens; the copy in the run's storage may not be synced yet), else storage's."""
    import cloudpickle

    try:
        if trial.pickled_error_file and os.path.exists(trial.pickled_error_file):
            with open(trial.pickled_error_file, "rb") as f:
                return cloudpickle.load(f)
        return trial.get_pickled_error()
    except Exception:  # noqa: BLE001 (unreadable: not known to be lost)
        log.debug("could not read the pickled error of %s", trial, exc_info=True)
        return None


def _guarded(method: Callable) -> Callable:
    """A store error inside a Tune callback would fail the trial it reports on; log it instead
    (the driver log holds the traceback) and count it. The driver times its own store writes."""

    @functools.wraps(method)
    def wrapper(self: StoreRecorder, *args: Any, **kwargs: Any) -> None:
        try:
            method(self, *args, **kwargs)
        except Exception:  # noqa: BLE001
            log.exception("octsearch could not record a trial event")
            self._driver.unrecorded()

    return wrapper


class StoreRecorder(Callback):
    """Tune's trial events -> :class:`SearchDriver`; and the searcher's prefetch, once per start."""

    def __init__(self, driver: SearchDriver, prefetch: Callable[[], None] | None = None,
                 budget: str = "proxy") -> None:
        self._driver, self._prefetch, self._budget = driver, prefetch, budget
        self._prefetch_due = False

    def __getstate__(self) -> dict[str, Any]:
        # Tune pickles its callbacks with the experiment; the driver (and its open store) stays here.
        return {**self.__dict__, "_driver": None, "_prefetch": None}

    def on_trial_start(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self._record_start(trial)
        self._prefetch_due = True

    def on_step_end(self, iteration: int, trials: list, **info: Any) -> None:
        # The next draw, while the trials run: at the end of the loop step that started a trial
        # (Tune sends that trial its work only after on_trial_start returns).
        if not self._prefetch_due or self._prefetch is None:
            return
        self._prefetch_due = False
        try:
            self._prefetch()
        except Exception:  # noqa: BLE001 (the next suggest draws again and raises there)
            log.exception("octsearch could not prefetch the next configuration")

    @_guarded
    def _record_start(self, trial: Any) -> None:
        self._driver.started(trial.trial_id, request_of(trial.config))

    @_guarded
    def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self._driver.completed(trial.trial_id, final_report(trial.last_result), self._budget)

    @_guarded
    def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        if lost_with_its_worker(trial):
            self._driver.lost(trial.trial_id, first_line_of_error(trial))
        else:
            self._driver.errored(trial.trial_id, first_line_of_error(trial))
