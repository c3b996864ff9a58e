"""The worker: the Ray Tune trainable (one proxy trial; it computes and reports, it never touches
the store: the driver is the only writer), and what crosses between it and the driver: the request
(one evaluation of one configuration, under one Tune config key) and the worker's report, one
frozen value each.

Tune needs every objective as a top-level number in every report (it dies otherwise), so
:meth:`WorkerReport.to_tune` flattens; everything that reads a report (the driver, the searcher,
the scheduler, a replay) reads it through :meth:`WorkerReport.from_tune`, never by dict keys.
Units: accuracy is the fraction of the validation split; ``flops`` multiply-adds at batch 1 in the
space's convention; seconds are wall seconds of the worker; ``t_begin``/``t_end`` wall-clock times.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

from octsearch.configuration import Configuration

if TYPE_CHECKING:
    from octsearch.spaces.space import SearchSpace


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


# Reported metric -> direction; accuracy and flops always, the others when the space names them.
METRIC_MODES = {"accuracy": "max", "flops": "min", "param_count": "min", "latency_ms": "min"}
OBJECTIVES = tuple(m for m in METRIC_MODES if m != "accuracy")  # reported beside accuracy


@dataclass(frozen=True)
class WorkerReport:
    """An epoch's report (``final=False``: accuracy so far, for the early-stopping scheduler) or the
    trial's final one (its evaluation and the worker's timings)."""

    accuracy: float
    objectives: Mapping[str, float]  # flops, params and latency_ms where measured
    epoch: int
    final: bool
    seed: int | None = None
    n_val: int = 0
    epoch_accuracies: tuple[float, ...] = ()
    train_seconds: float = 0.0
    eval_seconds: float = 0.0
    train_cpu_seconds: float = 0.0
    worker_seconds: float = 0.0  # the whole trial on the worker: set-up, training, validation
    node: str = ""
    pid: int = 0
    t_begin: float = 0.0
    t_end: float = 0.0

    @property
    def latency_ms(self) -> float | None:
        return self.objectives.get("latency_ms")

    def value(self, metric: str) -> float:
        """An objective by its metric name (``accuracy``, ``flops``, ``params``, ``latency_ms``)."""
        return float(self.accuracy if metric == "accuracy" else self.objectives[metric])

    def to_tune(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "objectives"}
        out.update({k: float(v) for k, v in self.objectives.items()})
        out["final"] = int(self.final)
        out["epoch_accuracies"] = list(self.epoch_accuracies)
        return out

    @classmethod
    def from_tune(cls, result: Mapping[str, Any]) -> WorkerReport:
        """The report inside a Tune result (Tune's own keys, such as ``training_iteration``, are left)."""
        names = {f.name for f in fields(cls)} - {"objectives"}
        values = {k: result[k] for k in names if k in result}
        values["final"] = bool(values.get("final"))
        values["epoch_accuracies"] = tuple(values.get("epoch_accuracies") or ())
        objectives = {k: float(result[k]) for k in OBJECTIVES if result.get(k) is not None}
        return cls(objectives=objectives, **values)


def final_report(result: Mapping[str, Any] | None) -> WorkerReport | None:
    """The final report in a Tune result, or None (no result, or an epoch's report only)."""
    if not result or not result.get("final"):
        return None
    return WorkerReport.from_tune(result)


# -- the worker: the Ray Tune trainable (it computes and reports; it never touches the store, the driver is the only writer) ---

def node_name() -> str:
    """Host name and the Ray node id, so two nodes of one machine stay apart."""
    import socket

    try:
        import ray

        node = ray.get_runtime_context().get_node_id()[:8]
    except Exception:  # outside Ray
        node = "local"
    return f"{socket.gethostname()}/{node}"


def proxy_trainable(config: dict[str, Any], *, space_text: str, space_name: str, space_path: str | None = None,
                    budget: str = "proxy", report_epochs: bool = True) -> None:
    """Train one :class:`~octsearch.search.worker.EvaluationRequest` and report the full result
    with ``final=1``; with ``report_epochs`` (an early-stopping scheduler needs rung results) also
    ``accuracy`` and ``flops`` after every epoch. Each report is a round trip to the driver, so
    without a scheduler there is one. Module level, because Tune pickles it."""
    import time

    from ray import tune

    from octsearch.search.cluster import trial_placement
    from octsearch.spaces import space_from_text
    from octsearch.trial import run_trial

    started, began_at = time.perf_counter(), time.time()
    placement = trial_placement()  # before any work: a GPU it cannot use fails the trial here
    space = space_from_text(space_text, space_name, space_path)  # workers may lack the driver's file
    request = request_of(config)
    cost = request.configuration.counted  # the driver counted it
    objectives = {"flops": float(cost.flops(space.objectives.flops)), "param_count": float(cost.param_count)}
    if space.objectives.latency:  # before training: every report carries every objective
        # measured on this node's CPU whatever device trains (space_latency_ms: CPU inference paths)
        objectives["latency_ms"] = measured_latency(space, request.configuration.by_slot)

    def on_epoch(epoch: int, accuracy: float) -> None:
        tune.report(WorkerReport(accuracy, objectives, epoch, final=False).to_tune())

    result = run_trial(space, request.configuration, seed=request.seed, budget=budget, device=placement.device,
                       on_epoch=on_epoch if report_epochs else None,
                       latency_ms=objectives.get("latency_ms"),  # measured once, above
                       evaluate_every_epoch=report_epochs)
    tune.report(WorkerReport(
        result.accuracy, objectives, result.epochs, final=True, seed=result.seed, n_val=result.n_val,
        epoch_accuracies=tuple(result.epoch_accuracies), train_seconds=result.train_seconds,
        eval_seconds=result.eval_seconds, train_cpu_seconds=result.train_cpu_seconds,
        worker_seconds=time.perf_counter() - started, node=f"{node_name()} {placement}", pid=os.getpid(),
        t_begin=began_at, t_end=time.time(),  # wall clock, for the driver's dispatch/return gaps
    ).to_tune())


def measured_latency(space: SearchSpace, alphas: dict[str, float]) -> float:
    """The latency objective of the configuration on this node's CPU, whatever device trains it
    (``space_latency_ms`` measures CPU inference paths)."""
    from octsearch.core.registry import create_model
    from octsearch.trial.evaluate import space_latency_ms

    return space_latency_ms(space, create_model(space.model_name, alphas, **space.model_args), space.budget().threads)
