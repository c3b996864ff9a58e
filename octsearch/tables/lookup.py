"""A table read back for replays and benchmarks: its stored runs by configuration key."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from octsearch.configuration import Configuration
from octsearch.errors import ConfigError
from octsearch.store import SearchRecord, Store, TrialRecord


@dataclass(frozen=True)
class StoredRun:
    """One tabulated evaluation: accuracy is the fraction right of ``n_val`` validation images,
    ``train_seconds`` the wall time it trained (the replay's simulated duration)."""

    seed: int
    accuracy: float
    n_val: int
    train_seconds: float
    epoch_accuracies: tuple[float, ...]


class Table:
    """The runs of table ``name``, by configuration key, and each configuration's stored trial."""

    def __init__(self, store: Store, name: str) -> None:
        self.record: SearchRecord = store.get_search(name)
        if self.record.kind != "table":
            raise ConfigError(f"{name!r} is a {self.record.kind}, not a table; accepted: a table made by "
                              "`octsearch tabulate`")
        self.name = name
        self.trials: dict[str, TrialRecord] = {t.configuration.key: t for t in store.trials(name)}
        by_number: dict[int, list[StoredRun]] = defaultdict(list)
        for e in store.evaluations(name, budget="proxy"):
            by_number[e.trial].append(StoredRun(e.seed, e.accuracy, e.n_val, float(e.train_seconds or 0.0),
                                                tuple(e.epoch_accuracies or (e.accuracy,))))
        self._runs = {key: sorted(by_number[t.number], key=lambda r: r.seed) for key, t in self.trials.items()}

    def __len__(self) -> int:
        return sum(1 for runs in self._runs.values() if runs)

    def runs(self, configuration: Configuration) -> list[StoredRun]:
        return self._runs.get(configuration.key, [])

    def answer(self, configuration: Configuration, seed: int, used: set[int]) -> StoredRun | None:
        """The stored run for ``seed`` if it is stored and unused, else the first unused stored
        seed of that configuration; None if the table has none left (or lacks the configuration)."""
        runs = [r for r in self.runs(configuration) if r.seed not in used]
        return next((r for r in runs if r.seed == seed), runs[0] if runs else None)
