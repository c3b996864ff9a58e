"""Where a search's driver spends its time, itemised for ``bench/overhead.py`` and the summary."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field


@dataclass
class Timings:
    """Seconds accumulated per item; ``count`` how often each was timed."""

    seconds: dict[str, float] = field(default_factory=dict)
    count: dict[str, int] = field(default_factory=dict)

    @contextlib.contextmanager
    def timed(self, item: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[item] = self.seconds.get(item, 0.0) + time.perf_counter() - start
            self.count[item] = self.count.get(item, 0) + 1
