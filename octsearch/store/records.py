"""Frozen records returned by the store, and the checks that turn rows into them.

The public API never hands out ORM objects. A row that fails a check (hand-edited JSON, an
accuracy outside [0, 1], ...) raises a one-line :class:`StoreError` naming the search, the trial
and the field; nothing is modified.

Units: FLOPs are multiply-adds (1 FMA = 1 FLOP), ``flops_paper`` = convolutions + linear layers
(the paper's convention), ``flops_all`` = every operator; accuracies are fractions in [0, 1] of
the validation split.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from octsearch.configuration import Configuration
from octsearch.errors import ConfigError, StoreError
from octsearch.store.models import (
    SEARCH_KINDS,
    SEARCH_STATUSES,
    TRIAL_STATUSES,
    EvaluationRow,
    SearchRow,
    TrialRow,
)
from octsearch.store.types import CorruptJSON

PROXY_BUDGET = "proxy"  # the search's own training budget; trials' accuracy is its mean

# objective name -> (TrialRecord attribute, direction)
OBJECTIVES: dict[str, tuple[str, str]] = {
    "accuracy": ("accuracy", "max"),
    "flops_paper": ("flops_paper", "min"),
    "flops_all": ("flops_all", "min"),
    "param_count": ("param_count", "min"),
    "latency_ms": ("latency_ms", "min"),
}
DEFAULT_OBJECTIVES = ("accuracy", "flops_paper")
# what each FLOPs convention counts, for labels: "GFLOPs (conv+fc MACs)"
FLOPS_LABELS = {"flops_paper": "conv+fc", "flops_all": "all ops"}


def flops_objective(objectives: tuple[str, ...] | list[str]) -> str:
    """The FLOPs convention a search minimises (its reference FLOPs use the same one)."""
    return "flops_all" if "flops_all" in objectives and "flops_paper" not in objectives else "flops_paper"


@dataclass(frozen=True)
class SearchSpec:
    """What a search is created with.

    ``reference_accuracy`` is chance level (1 / classes) and ``reference_flops`` the multiply-adds
    of the alpha-0 network, in the convention of the FLOPs objective (``flops_paper`` unless the
    objectives name ``flops_all`` only): together the fixed reference point of the hypervolume. ``model_args`` are the full keyword arguments of ``create_model`` (including
    ``num_classes``, ``in_chans`` and ``input_size``). ``flops_budget`` is in multiply-adds.
    """

    name: str
    space_text: str
    model_name: str
    model_args: Mapping[str, Any]
    reference_accuracy: float
    reference_flops: int
    objectives: tuple[str, ...] = DEFAULT_OBJECTIVES
    sampler: str = "nsga2"
    sampler_args: Mapping[str, Any] = field(default_factory=dict)
    seed: int | None = None
    flops_budget: int | None = None
    space_hash: str | None = None  # sha256 of space_text when not given
    octsearch_version: str | None = None  # the running version when not given
    kind: str = "search"  # search | table | replay (of the table ``source``)
    source: str | None = None

    def resolved_hash(self) -> str:
        return self.space_hash or hashlib.sha256(self.space_text.encode()).hexdigest()


@dataclass(frozen=True)
class SearchRecord:
    """A stored search with its trial counts by status."""

    id: int
    name: str
    space_text: str
    space_hash: str
    model_name: str
    model_args: Mapping[str, Any]
    objectives: tuple[str, ...]
    sampler: str
    sampler_args: Mapping[str, Any]
    seed: int | None
    octsearch_version: str
    created_at: datetime
    finished_at: datetime | None
    status: str
    reference_accuracy: float
    reference_flops: int
    flops_budget: int | None
    trial_counts: Mapping[str, int] = field(default_factory=dict)
    kind: str = "search"  # search | table | replay (answered from the table ``source``)
    source: str | None = None

    @property
    def n_trials(self) -> int:
        return sum(self.trial_counts.values())

    @property
    def flops_key(self) -> str:
        """``flops_paper`` or ``flops_all``: the convention of the objective and the reference."""
        return flops_objective(self.objectives)


@dataclass(frozen=True)
class TrialRecord:
    """One configuration of a search. ``accuracy`` is the mean over its evaluations at ``budget``;
    ``accuracy_stderr`` combines the binomial error of the validation split with the spread
    across seeds (see :func:`aggregate`). The configuration is read once from its stored value;
    the cost, alpha and uniform views below are its."""

    search: str
    number: int
    configuration: Configuration
    latency_ms: float | None
    status: str
    error: str | None
    accuracy: float | None
    accuracy_stderr: float | None
    n_evals: int
    node: str | None
    started_at: datetime | None
    finished_at: datetime | None
    train_seconds: float | None
    on_front: bool
    budget: str = PROXY_BUDGET

    def objective(self, name: str) -> float | None:
        value = getattr(self, OBJECTIVES[name][0])
        return None if value is None else float(value)

    @property
    def flops_paper(self) -> int | None:
        cost = self.configuration.cost
        return None if cost is None else cost.flops_paper

    @property
    def flops_all(self) -> int | None:
        cost = self.configuration.cost
        return None if cost is None else cost.flops_all

    @property
    def param_count(self) -> int | None:
        cost = self.configuration.cost
        return None if cost is None else cost.param_count

    @property
    def uniform_alpha(self) -> float | None:
        return self.configuration.uniform_alpha

    @property
    def is_uniform(self) -> bool:
        return self.configuration.uniform_alpha is not None


@dataclass(frozen=True)
class EvaluationRecord:
    """One training run of a configuration: seed, budget and validation accuracy (fraction)."""

    search: str
    trial: int
    seed: int
    budget: str
    accuracy: float
    n_val: int
    stderr: float
    train_seconds: float | None
    node: str | None
    created_at: datetime
    epoch_accuracies: tuple[float, ...] | None


def aggregate(accuracies: list[float], n_vals: list[int]) -> tuple[float, float]:
    """Mean accuracy over evaluations and its standard error.

    The validation split's sampling error is shared by every seed, so it is not divided by the
    number of evaluations (conservative): stderr^2 = p (1 - p) / n_val + s^2 / k, with s the
    standard deviation across the k seeds (0 when k = 1).
    """
    k = len(accuracies)
    mean = sum(accuracies) / k
    n_val = sum(n_vals) / k
    var = mean * (1.0 - mean) / n_val
    if k > 1:
        s2 = sum((a - mean) ** 2 for a in accuracies) / (k - 1)
        var += s2 / k
    return mean, math.sqrt(var)


def utc(value: datetime | None) -> datetime | None:
    """SQLite drops the zone of stored timestamps; they are all UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=timezone.utc)


def now() -> datetime:
    return datetime.now(timezone.utc)


class _Checker:
    """Raises the one-line 'corrupted row' error for one row."""

    def __init__(self, where: str) -> None:
        self.where = where

    def fail(self, name: str, value: Any, expected: str) -> StoreError:
        shown = value.raw if isinstance(value, CorruptJSON) else value
        text = repr(shown)
        if len(text) > 60:
            text = text[:57] + "..."
        return StoreError(
            f"corrupted row in {self.where}: field {name!r} is {text}, expected {expected}; "
            "nothing was changed (fix or delete the row with SQL)"
        )

    def mapping(self, name: str, value: Any) -> dict[str, Any]:
        if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
            raise self.fail(name, value, "a JSON object")
        return value

    def configuration(self, value: Any) -> Configuration:
        expected = ("a configuration: JSON with params and alphas (name -> alpha, 0 <= alpha < 1) "
                    "and an optional cost of non-negative integers")
        if not isinstance(value, dict):
            raise self.fail("configuration", value, expected)
        try:
            cfg = Configuration.from_json(value)
        except ConfigError:
            raise self.fail("configuration", value, expected) from None
        if cfg.cost is not None and min(cfg.cost.flops_paper, cfg.cost.flops_all, cfg.cost.param_count) < 0:
            raise self.fail("configuration", value, expected)
        return cfg

    def fraction(self, name: str, value: Any, nullable: bool = True) -> float | None:
        if value is None and nullable:
            return None
        if not isinstance(value, (int, float)) or not 0 <= value <= 1:
            raise self.fail(name, value, "a fraction in [0, 1]")
        return float(value)

    def count(self, name: str, value: Any) -> int | None:
        if value is None:
            return None
        if not isinstance(value, int) or value < 0:
            raise self.fail(name, value, "a non-negative integer")
        return value

    def choice(self, name: str, value: Any, choices: tuple[str, ...]) -> str:
        if value not in choices:
            raise self.fail(name, value, "one of " + ", ".join(choices))
        return value


def search_record(row: SearchRow, counts: Mapping[str, int] | None = None) -> SearchRecord:
    check = _Checker(f"search {row.name!r}")
    objectives = row.objectives
    if not isinstance(objectives, list) or not objectives or any(o not in OBJECTIVES for o in objectives):
        raise check.fail("objectives", objectives, "a list of " + ", ".join(OBJECTIVES))
    return SearchRecord(
        id=row.id,
        name=row.name,
        space_text=row.space_text,
        space_hash=row.space_hash,
        model_name=row.model_name,
        model_args=check.mapping("model_args", row.model_args),
        objectives=tuple(objectives),
        sampler=row.sampler,
        sampler_args=check.mapping("sampler_args", row.sampler_args),
        seed=row.seed,
        octsearch_version=row.octsearch_version,
        created_at=utc(row.created_at),  # type: ignore[arg-type]
        finished_at=utc(row.finished_at),
        status=check.choice("status", row.status, SEARCH_STATUSES),
        reference_accuracy=check.fraction("reference_accuracy", row.reference_accuracy, False),  # type: ignore[arg-type]
        reference_flops=check.count("reference_flops", row.reference_flops),  # type: ignore[arg-type]
        flops_budget=check.count("flops_budget", row.flops_budget),
        trial_counts=dict(counts or {}),
        kind=check.choice("kind", row.kind, SEARCH_KINDS),
        source=row.source,
    )


def trial_record(row: TrialRow, search: str) -> TrialRecord:
    check = _Checker(f"search {search!r}, trial {row.number}")
    stderr = row.accuracy_stderr
    if stderr is not None and not (isinstance(stderr, (int, float)) and 0 <= stderr <= 1):
        raise check.fail("accuracy_stderr", stderr, "a fraction in [0, 1]")
    return TrialRecord(
        search=search,
        number=row.number,
        configuration=check.configuration(row.configuration),
        latency_ms=row.latency_ms,
        status=check.choice("status", row.status, TRIAL_STATUSES),
        error=row.error,
        accuracy=check.fraction("accuracy", row.accuracy),
        accuracy_stderr=stderr,
        n_evals=row.n_evals,
        node=row.node,
        started_at=utc(row.started_at),
        finished_at=utc(row.finished_at),
        train_seconds=row.train_seconds,
        on_front=bool(row.on_front),
    )


def evaluation_record(row: EvaluationRow, search: str, number: int) -> EvaluationRecord:
    check = _Checker(f"search {search!r}, trial {number}, evaluation seed {row.seed}")
    epochs = row.epoch_accuracies
    if epochs is not None and not (
        isinstance(epochs, list) and all(isinstance(a, (int, float)) for a in epochs)
    ):
        raise check.fail("epoch_accuracies", epochs, "a list of fractions")
    return EvaluationRecord(
        search=search,
        trial=number,
        seed=row.seed,
        budget=row.budget,
        accuracy=check.fraction("accuracy", row.accuracy, False),  # type: ignore[arg-type]
        n_val=row.n_val,
        stderr=row.stderr,
        train_seconds=row.train_seconds,
        node=row.node,
        created_at=utc(row.created_at),  # type: ignore[arg-type]
        epoch_accuracies=None if epochs is None else tuple(float(a) for a in epochs),
    )
