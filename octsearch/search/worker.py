"""The Ray Tune trainable: one proxy trial on a worker. It computes and reports; it never touches
the store (the driver is the only writer)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from octsearch.spaces.space import SearchSpace

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
    """Train one :class:`~octsearch.search.messages.EvaluationRequest` and report the full result
    with ``final=1``; with ``report_epochs`` (an early-stopping scheduler needs rung results) also
    ``accuracy`` and ``flops`` after every epoch. Each report is a round trip to the driver, so
    without a scheduler there is one. Module level, because Tune pickles it."""
    import time

    from ray import tune

    from octsearch.search.cluster import trial_placement
    from octsearch.search.messages import WorkerReport, request_of
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
