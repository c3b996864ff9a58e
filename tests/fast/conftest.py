"""Shared fixtures of the fast-path tests."""

import pytest
import torch


@pytest.fixture
def one_thread():
    """One torch thread: the fast paths' kernels are single-threaded, as proxy trials run; and two
    intra-op threads on a loaded 2-core machine spin-wait each other (100x slower)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
