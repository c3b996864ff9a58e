"""Shared fixtures of the fast-path tests."""

import pytest

from octsearch.core.threads import one_torch_thread


@pytest.fixture
def one_thread():
    """One torch thread: the fast paths' kernels are single-threaded, as proxy trials run; and two
    intra-op threads on a loaded 2-core machine spin-wait each other (100x slower)."""
    with one_torch_thread():
        yield
