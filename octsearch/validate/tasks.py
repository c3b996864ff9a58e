"""Training runs as Ray tasks: the worker side and the driver's dispatch loop.

A worker rebuilds the space from its text, trains one (configuration, seed, budget) with
:func:`~octsearch.trial.run_trial` and returns the result; it never touches the store. The driver
keeps at most ``concurrency`` tasks in flight and hands each outcome, as it finishes, to a callback
(the one writer). A failed task is reported, not retried. A stop request (first Ctrl-C) cancels
what is in flight; what finished before is kept.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from octsearch.spaces import space_from_text
from octsearch.validate.selection import Job

POLL_SECONDS = 0.5  # how often the dispatch loop looks at the stop flag


@dataclass(frozen=True)
class JobOutcome:
    """A finished job: its result (``octsearch.trial.TrialResult``) and the node that ran it, or
    the first line of its error."""

    job: Job
    result: Any | None
    node: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class RunCounts:
    done: int
    failed: int
    cancelled: int  # in flight or not started when a stop was requested
    stopped: bool


def with_epochs(space: Any, budget: str, epochs: int | None) -> Any:
    """``space`` whose ``budget`` ("proxy" or "full") trains ``epochs`` epochs (None: unchanged).

    For "full" the override goes into ``budget.full``; every other setting is kept.
    """
    if epochs is None:
        return space
    spec = space.spec
    if budget == "full":
        new_budget = spec.budget.model_copy(update={"full": spec.budget.full.model_copy(update={"epochs": epochs})})
    else:
        new_budget = spec.budget.model_copy(update={"epochs": epochs})
    return dataclasses.replace(space, spec=spec.model_copy(update={"budget": new_budget}))


def train_job(space_text: str, space_name: str, job: Job) -> tuple[Any, str]:
    """Worker side: train one job; returns (TrialResult, node name). Module level: Ray pickles it."""
    from octsearch.search.worker import node_name
    from octsearch.trial import run_trial

    space = with_epochs(space_from_text(space_text, space_name), job.budget, job.epochs)
    result = run_trial(space, job.configuration, seed=job.seed, budget=job.budget)
    return result, node_name()


def error_line(error: BaseException) -> str:
    """The original exception's message, one line (Ray wraps it in a RayTaskError)."""
    cause = getattr(error, "cause", None) or error
    lines = [ln.strip() for ln in str(cause).strip().splitlines() if ln.strip()]
    text = lines[-1] if lines else ""
    name = type(cause).__name__
    return f"{name}: {text}" if text and not text.startswith(name) else (text or name)


def run_jobs(
    jobs: Sequence[Job],
    space: Any,
    *,
    concurrency: int,
    on_outcome: Callable[[JobOutcome], None],
    should_stop: Callable[[], bool] = lambda: False,
) -> RunCounts:
    """Run ``jobs`` as Ray tasks (Ray must be initialised), ``concurrency`` at a time, each with the
    CPUs its budget's ``threads`` asks for; ``on_outcome`` sees every finished job in the driver."""
    import ray

    remote = ray.remote(train_job)
    pending = list(jobs)
    in_flight: dict[Any, Job] = {}
    done = failed = 0
    try:
        while pending or in_flight:
            if should_stop():
                break
            while pending and len(in_flight) < concurrency:
                job = pending.pop(0)
                threads = space.budget(job.budget).threads
                ref = remote.options(num_cpus=threads, max_retries=0).remote(space.text, space.name, job)
                in_flight[ref] = job
            ready, _ = ray.wait(list(in_flight), num_returns=1, timeout=POLL_SECONDS)
            for ref in ready:
                job = in_flight.pop(ref)
                try:
                    result, node = ray.get(ref)
                except Exception as e:  # noqa: BLE001 (reported, never retried)
                    if should_stop():  # a worker hit by the same Ctrl-C: not a failure
                        pending.insert(0, job)
                        continue
                    failed += 1
                    on_outcome(JobOutcome(job, None, error=error_line(e)))
                    continue
                done += 1
                on_outcome(JobOutcome(job, result, node=node))
    finally:
        for ref in in_flight:
            with contextlib.suppress(Exception):
                ray.cancel(ref, force=True)
    cancelled = len(pending) + len(in_flight)
    return RunCounts(done, failed, cancelled, stopped=cancelled > 0)


