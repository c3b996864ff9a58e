"""What crosses between the driver and a worker: the request (one evaluation of one configuration,
under one Tune config key) and the worker's report, one frozen value each.

Tune needs every objective as a top-level number in every report (it dies otherwise), so
:meth:`WorkerReport.to_tune` flattens; everything that reads a report (the driver, the searcher,
the scheduler, a replay) reads it through :meth:`WorkerReport.from_tune`, never by dict keys.
Units: accuracy is the fraction of the validation split; ``flops`` multiply-adds at batch 1 in the
space's convention; seconds are wall seconds of the worker; ``t_begin``/``t_end`` wall-clock times.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
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
