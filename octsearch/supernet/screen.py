"""The screen of ``launch --evaluator supernet``: train the space's supernet once (or resume it),
score every configuration into the companion search at budget ``supernet``, and choose what the
stand-alone confirmation trains (:mod:`octsearch.supernet.confirm`).

The scores are read back from the store, not from the run, so a rerun whose scores are all
stored trains nothing and chooses the same configurations.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from octsearch.configuration import Configuration
from octsearch.errors import ConfigError, UnknownNameError
from octsearch.spaces.space import SearchSpace
from octsearch.store import Store
from octsearch.supernet.confirm import Pick, choose_confirmations, companion_name
from octsearch.supernet.pipeline import (
    SupernetOptions,
    SupernetOutcome,
    supernet_search,
)
from octsearch.supernet.settings import (
    SUPERNET_BUDGET,
    EvaluationSettings,
    SupernetSettings,
    default_settings,
)


@dataclass(frozen=True)
class Screen:
    """What the screen did: the ``companion`` search holding the scores, the supernet's
    ``settings``, the run (``outcome.run`` None: every score was stored already) and the
    ``picks`` to confirm, uniform points first."""

    companion: str
    settings: SupernetSettings
    outcome: SupernetOutcome
    picks: tuple[Pick, ...]

    @property
    def points(self) -> tuple[Configuration, ...]:
        """The chosen configurations beyond the uniform points (what the launch warm-starts with)."""
        return tuple(p.configuration for p in self.picks if p.layer > 0)


def check_companion(store: Store, space: SearchSpace, name: str) -> None:
    """The companion search, if stored, must be a supernet search of the same space file."""
    companion = companion_name(name)
    try:
        stored = store.get_search(companion)
    except UnknownNameError:
        return
    if stored.space_hash != space.hash or stored.kind != "search":
        raise ConfigError(f"search {companion!r} (where --evaluator supernet stores the supernet's scores of "
                          f"{name!r}) exists as a {stored.kind} of another space file or kind; accepted: another --name")


def checkpoint_path(name: str, results_dir: str | None) -> Path:
    """The supernet checkpoint of search ``name``: under ``results_dir`` if given, else in the user
    data directory, where ``octsearch supernet --name NAME`` and the screen of a launch both keep
    it (so either command resumes the other's training)."""
    if results_dir:
        return Path(results_dir).resolve() / "supernet" / f"{name}.pt"
    from platformdirs import user_data_dir

    return Path(user_data_dir("octsearch")) / "supernet" / f"{name}.pt"


def screen(space: SearchSpace, store: Store, name: str, k: int, *, address: str | None = None,
           results_dir: str | None = None, gpus: float | None = None) -> Screen:
    """Train and score (what is not stored yet), then choose ``k`` configurations."""
    companion = companion_name(name)
    settings = default_settings(space.budget("proxy").epochs)
    opts = SupernetOptions(companion, settings, EvaluationSettings(seed=settings.seed),
                           checkpoint_path(companion, results_dir), gpus=gpus, address=address)
    outcome = supernet_search(space, store, opts)
    scored = [(t.configuration, t.accuracy) for t in store.scored_trials(companion, SUPERNET_BUDGET)]
    return Screen(companion, settings, outcome, tuple(choose_confirmations(space, scored, k)))
