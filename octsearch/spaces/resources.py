"""What one trial asks Ray for: CPUs and GPUs (a space's ``resources:``, launch's flags).

.. code-block:: yaml

    resources:
      cpu: 2      # CPUs Ray reserves per trial (an integer >= budget.threads); default budget.threads
      gpu: 0.25   # GPUs per trial: 0 (the default: train on the CPU), a fraction in (0, 1], or a whole number

A fraction lets several small proxies share one card; Ray's fractions are logical only (each trial
must fit in the card's memory by itself). ``launch --gpus-per-trial F --cpus-per-trial N`` override
the file without changing its hash, so a resumed search may move between machines.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from octsearch.errors import ConfigError

GPU_ACCEPTED = "0 (no GPU), a fraction in (0, 1] (trials share a card) or a whole number of GPUs"


def check_gpus(value: Any) -> float:
    """GPUs per trial: 0, a fraction in (0, 1] or a whole number; ``ValueError`` otherwise."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or value < 0 or (value > 1 and value != int(value)):
        raise ValueError(f"GPUs per trial; accepted: {GPU_ACCEPTED}")
    return float(value)


class ResourcesSpec(BaseModel):
    """The ``resources:`` section of a space file."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)

    cpu: int | None = Field(None, ge=1)  # None: budget.threads
    gpu: float = 0.0

    @field_validator("gpu", mode="before")
    @classmethod
    def _gpu(cls, v: Any) -> float:
        return check_gpus(v)


@dataclass(frozen=True)
class TrialResources:
    """One trial's Ray request; ``cpu_from``/``gpu_from`` name where each value came from (for messages)."""

    cpu: int
    gpu: float = 0.0
    cpu_from: str = "budget.threads"
    gpu_from: str = "resources.gpu"

    def as_ray(self) -> dict[str, float]:
        """The request for ``tune.with_resources``; no GPU key without a GPU (Ray hides GPUs then)."""
        return {"cpu": self.cpu, "gpu": self.gpu} if self.gpu else {"cpu": self.cpu}

    def describe(self) -> str:
        gpu = f" and {self.gpu:g} GPU" if self.gpu else ", no GPU"
        return f"{self.cpu} CPU{'s' if self.cpu != 1 else ''}{gpu} per trial"


def trial_resources(spec: ResourcesSpec, threads: int, file: str, *, gpus: float | None = None,
                    cpus: int | None = None) -> TrialResources:
    """The space's request with the launch flags (``gpus``, ``cpus``) applied, checked.

    A trial runs ``threads`` torch threads (``budget.threads``): fewer reserved CPUs would put
    more threads than cores on a node, so that is refused.
    """
    if gpus is not None:
        try:
            gpus = check_gpus(gpus)
        except ValueError:
            raise ConfigError(f"--gpus-per-trial {_number(gpus)}; accepted: {GPU_ACCEPTED}") from None
    if cpus is not None and (isinstance(cpus, bool) or not isinstance(cpus, int) or cpus < 1):
        raise ConfigError(f"--cpus-per-trial {cpus!r}; accepted: an integer >= 1")
    file = Path(file).name
    cpu, cpu_from = _pick(cpus, "--cpus-per-trial", spec.cpu, f"resources.cpu of {file}", threads, "budget.threads")
    gpu, gpu_from = _pick(gpus, "--gpus-per-trial", spec.gpu, f"resources.gpu of {file}", 0.0, "the default")
    if cpu < threads:
        raise ConfigError(f"{cpu_from} is {cpu}, below budget.threads {threads}: each trial runs {threads} torch "
                          f"threads; accepted: an integer >= {threads}")
    return TrialResources(int(cpu), float(gpu), cpu_from, gpu_from)


def _number(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else repr(value)


def _pick(flag: Any, flag_name: str, file_value: Any, file_name: str, default: Any, default_name: str) -> tuple[Any, str]:
    """The flag if given, else the file's value if set, else the default; with its origin."""
    if flag is not None:
        return flag, flag_name
    if file_value is not None and file_value != default:
        return file_value, file_name
    return default, default_name
