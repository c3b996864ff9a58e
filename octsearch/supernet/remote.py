"""The supernet as Ray work: one training trial with the space's resources, then its scoring,
in that trial or spread over ``workers`` Ray tasks. Workers rebuild the space from its text and
never touch the store; the driver records what they return.
"""

from __future__ import annotations

import socket
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from octsearch.configuration import Configuration
from octsearch.spaces.resources import TrialResources
from octsearch.spaces.space import SearchSpace
from octsearch.supernet.evaluate import SupernetScore
from octsearch.supernet.settings import EvaluationSettings, SupernetSettings


@dataclass(frozen=True)
class SupernetRun:
    """What the trial did: its scores, training wall time (s, all sessions of a resumed training),
    scoring wall time (s, summed over workers), the epoch it resumed from, the node it trained on."""

    scores: list[SupernetScore]
    train_seconds: float
    score_seconds: float
    resumed_from: int
    node: str


def _space(text: str, name: str, path: str) -> SearchSpace:
    from octsearch.spaces import space_from_text

    return space_from_text(text, name, path)


def _score(space: SearchSpace, supernet: Any, configurations: Sequence[Configuration],
           settings: EvaluationSettings, device: Any) -> list[SupernetScore]:
    from octsearch.supernet.evaluate import readers, score_configurations
    from octsearch.trial.recipe import kernel_settings, recipe_for

    spec = space.budget("proxy")
    with kernel_settings(spec.threads, device, spec.deterministic):
        train, val = readers(space, device)
        return score_configurations(supernet, configurations, settings, train, val, recipe_for(device))


def _device(name: str | None) -> Any:
    import torch

    return torch.device(name or ("cuda" if torch.cuda.is_available() else "cpu"))


def train_task(text: str, name: str, path: str, settings: SupernetSettings, checkpoint: str | None,
               device: str | None, scoring: EvaluationSettings | None,
               configurations: Sequence[Configuration]) -> tuple[Any, list[SupernetScore], float, int, str]:
    """Train (or resume); score ``configurations`` here too unless ``scoring`` is None. Returns the
    weights (CPU state dict), the scores, the training seconds, the resumed epoch and the node."""
    from octsearch.supernet.training import train_supernet

    space, dev = _space(text, name, path), _device(device)
    trained = train_supernet(space, settings, checkpoint=None if checkpoint is None else Path(checkpoint), device=dev)
    scores = [] if scoring is None else _score(space, trained.supernet, configurations, scoring, dev)
    state = {k: v.cpu() for k, v in trained.supernet.state_dict().items()}
    return state, scores, trained.train_seconds, trained.resumed_from, socket.gethostname()


def score_task(text: str, name: str, path: str, state: Any, device: str | None, scoring: EvaluationSettings,
               configurations: Sequence[Configuration]) -> list[SupernetScore]:
    """Score a share of the configurations with the trained weights."""
    from octsearch.supernet.build import build_supernet

    space, dev = _space(text, name, path), _device(device)
    supernet = build_supernet(space)
    supernet.load_state_dict(state)
    return _score(space, supernet.to(dev), configurations, scoring, dev)


def run_supernet(space: SearchSpace, settings: SupernetSettings, scoring: EvaluationSettings,
                 configurations: Sequence[Configuration], resources: TrialResources, *,
                 checkpoint: Path | None = None, device: str | None = None, workers: int = 1) -> SupernetRun:
    """Train as one Ray trial with ``resources`` and score ``configurations`` (Ray must be
    initialised): in the training trial with one worker, else in ``workers`` tasks of the same
    resources, each a contiguous share of the configurations."""
    import ray

    where = (space.text, space.name, space.path)
    request = {"num_cpus": resources.cpu, "num_gpus": resources.gpu, "max_retries": 0}
    trained = ray.remote(train_task).options(**request).remote(
        *where, settings, None if checkpoint is None else str(checkpoint), device,
        scoring if workers == 1 else None, list(configurations))
    state, scores, train_seconds, resumed_from, node = ray.get(trained)
    if workers > 1:
        # contiguous shares: configurations listed in parameter order share prefixes with their
        # neighbours, and each worker computes a shared prefix once (supernet/shared.py)
        n = len(configurations)
        shares = [list(configurations[i * n // workers:(i + 1) * n // workers]) for i in range(workers)]
        state_ref, remote = ray.put(state), ray.remote(score_task).options(**request)
        refs = [remote.remote(*where, state_ref, device, scoring, share) for share in shares if share]
        by_key = {s.configuration.key: s for done in ray.get(refs) for s in done}
        scores = [by_key[c.key] for c in configurations]
    return SupernetRun(scores, train_seconds, sum(s.seconds for s in scores), resumed_from, node)
