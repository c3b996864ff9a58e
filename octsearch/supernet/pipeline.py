"""``octsearch supernet``: train a space's supernet once, score its configurations, store the scores.

Lifecycle: check every input (space, settings, name, sample) before Ray starts or anything is
written -> the configurations to score (all of a finite space; a stratified sample of a very large
one, with a notice) -> register the search -> one Ray trial trains (or resumes from the
checkpoint) and scores, spread over Ray workers if asked -> the driver stores each score at
budget ``supernet``. A rerun with the same settings resumes the training from its checkpoint and
scores only what is not stored yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from octsearch.configuration import Configuration
from octsearch.errors import ConfigError
from octsearch.spaces.space import SearchSpace
from octsearch.store import Store
from octsearch.supernet.record import record_scores, register_supernet_search
from octsearch.supernet.remote import SupernetRun, run_supernet
from octsearch.supernet.settings import SUPERNET_BUDGET, EvaluationSettings, SupernetSettings

MAX_SCORED = 10_000  # a larger space is scored on a stratified sample (each score is a validation pass)
SAMPLE = 1_000


@dataclass(frozen=True)
class SupernetOptions:
    name: str
    settings: SupernetSettings
    scoring: EvaluationSettings = EvaluationSettings()
    checkpoint: Path | None = None
    workers: int = 1
    sample: int | None = None
    gpus: float | None = None
    device: str | None = None
    address: str | None = None


@dataclass(frozen=True)
class SupernetOutcome:
    run: SupernetRun | None  # None: every configuration was scored already
    configurations: int
    recorded: int
    notice: str | None  # set when a sample stands for the space


def scorable(space: SearchSpace) -> int:
    """How many configurations the supernet scores without ``--sample``: all of a space up to
    :data:`MAX_SCORED`, else :data:`SAMPLE` (the rule of :func:`configurations_to_score`)."""
    return space.num_configurations if space.num_configurations <= MAX_SCORED else SAMPLE


def configurations_to_score(space: SearchSpace, sample: int | None) -> tuple[list[Configuration], str | None]:
    """Every configuration of ``space`` or, above :data:`MAX_SCORED` or with ``sample``, a
    stratified sample (the uniform points first); the notice says which."""
    from octsearch.tables.select import stratified_sample, table_configurations

    total = space.num_configurations
    if sample is None and total <= MAX_SCORED:
        return table_configurations(space), None
    n = SAMPLE if sample is None else sample
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= min(total, MAX_SCORED):
        raise ConfigError(f"--sample {n!r}; accepted: 1 to {min(total, MAX_SCORED):,} (the space has {total:,} "
                          "configurations)")
    notice = (f"notice: {space.name} has {total:,} configurations; the supernet scores a stratified sample of "
              f"{n:,} (by cost stratum, the uniform points first), not all")
    return stratified_sample(space, n, 0), notice


def supernet_search(space: SearchSpace, store: Store, opts: SupernetOptions) -> SupernetOutcome:
    """Train, score, store (see the module docstring); one-line errors before anything runs."""
    if isinstance(opts.workers, bool) or not isinstance(opts.workers, int) or opts.workers < 1:
        raise ConfigError(f"--workers {opts.workers!r}; accepted: an integer >= 1")
    configurations, notice = configurations_to_score(space, opts.sample)
    resources = space.resources(gpus=opts.gpus)
    register_supernet_search(store, space, opts.name, opts.settings.seed)
    scored = {store.trial(opts.name, e.trial).configuration.key
              for e in store.evaluations(opts.name, budget=SUPERNET_BUDGET) if e.seed == opts.settings.seed}
    todo = [c for c in configurations if c.key not in scored]
    if not todo:
        return SupernetOutcome(None, len(configurations), 0, notice)
    from octsearch.search.cluster import ray_session

    with ray_session(opts.address, num_cpus=None):
        run = run_supernet(space, opts.settings, opts.scoring, todo, resources, checkpoint=opts.checkpoint,
                           device=opts.device, workers=opts.workers)
    record_scores(store, space, opts.name, run.scores, opts.settings.seed, run.node)
    return SupernetOutcome(run, len(configurations), len(run.scores), notice)
