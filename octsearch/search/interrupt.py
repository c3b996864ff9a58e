"""Ctrl-C as a request to stop cleanly: finished work is kept, a second Ctrl-C aborts."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Callable, Iterator
from typing import Any


@contextlib.contextmanager
def stop_on_sigint() -> Iterator[Callable[[], bool]]:
    """Yield ``should_stop``: true after a first Ctrl-C (finish cleanly); a second one aborts."""
    flag = {"stop": False}

    def handler(signum: int, frame: Any) -> None:
        if flag["stop"]:
            raise KeyboardInterrupt
        flag["stop"] = True

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield lambda: flag["stop"]
    finally:
        signal.signal(signal.SIGINT, previous)
