"""A space's objectives, as the store names them and as workers report them."""

from __future__ import annotations

from dataclasses import dataclass

from octsearch.configuration import Cost, flops_field
from octsearch.spaces.space import SearchSpace

# Reported metric -> direction; accuracy and flops always, the others when the space names them.
METRIC_MODES = {"accuracy": "max", "flops": "min", "params": "min", "latency_ms": "min"}


@dataclass(frozen=True)
class Objectives:
    store_names: tuple[str, ...]  # e.g. ("accuracy", "flops_paper", "latency_ms")
    metrics: tuple[str, ...]  # e.g. ("accuracy", "flops", "latency_ms")
    convention: str  # the FLOPs convention minimised: "paper" or "all"

    @property
    def flops_key(self) -> str:
        """The FLOPs field minimised: "flops_paper" or "flops_all"."""
        return flops_field(self.convention)

    @property
    def modes(self) -> list[str]:
        return [METRIC_MODES[m] for m in self.metrics]

    @classmethod
    def of(cls, space: SearchSpace) -> Objectives:
        convention = space.objectives.flops
        extra = tuple(name for name, on in (("params", space.objectives.params),
                                             ("latency_ms", space.objectives.latency)) if on)
        return cls(("accuracy", flops_field(convention), *extra), ("accuracy", "flops", *extra), convention)

    def values(self, accuracy: float, cost: Cost, latency_ms: float | None = None) -> tuple[float, ...]:
        """Objective values in metric order; a latency never measured (an infeasible configuration)
        counts as infinitely slow."""
        known = {"accuracy": float(accuracy), "flops": float(cost.flops(self.convention)),
                 "params": float(cost.param_count),
                 "latency_ms": float("inf") if latency_ms is None else float(latency_ms)}
        return tuple(known[m] for m in self.metrics)
