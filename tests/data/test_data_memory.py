"""Image sizes: at most the largest model input, and small enough for the resized splits to fit in
the machine's memory, refused with the figure before the tensors are allocated."""

from __future__ import annotations

import pytest

from octsearch.data import _tensors, load_dataset
from octsearch.errors import ConfigError, DataError


@pytest.mark.parametrize("size", [4097, 100_000, 2**63, 10**30])
def test_an_image_size_above_the_largest_model_input_is_refused(size: int) -> None:
    with pytest.raises(ConfigError) as info:
        load_dataset("mnist", image_size=size)
    assert str(info.value) == (f"mnist: image_size={size} is not accepted; use an integer side from 1 to 4096 "
                               "pixels (the largest model input) or None")


def test_resized_splits_larger_than_the_memory_are_refused_with_the_figure(monkeypatch: pytest.MonkeyPatch) -> None:
    """5,000 MNIST images: 1 byte a pixel each (uint8), and 4 for the resize's 1,024-image float32 chunk."""
    monkeypatch.setattr(_tensors, "machine_memory", lambda: 10**7)
    with pytest.raises(ConfigError) as info:
        load_dataset("mnist", image_size=64)
    assert str(info.value) == (
        "mnist: image_size=64 would take 37.3 MB (5,000 images of 1x64x64 uint8 and a float32 resize chunk), "
        "more than the 10 MB of memory this machine has; accepted: image_size at most 33 here")
    assert load_dataset("mnist", image_size=33).train.images.shape[-1] == 33  # the bound it names does fit
    with pytest.raises(ConfigError, match="image_size=34 would take"):
        load_dataset("mnist", image_size=34)


@pytest.mark.skipif(_tensors.machine_memory() > 153 * 10**9, reason="this machine would hold MNIST at 4096 px")
def test_the_largest_image_size_on_mnist_is_refused_on_this_machine() -> None:
    """4096 px: 153 GB for MNIST (uint8), more than the machines these tests run on have."""
    with pytest.raises(ConfigError, match=r"mnist: image_size=4096 would take 153 GB .* of memory this machine has"):
        load_dataset("mnist", image_size=4096)


def test_an_allocation_that_fails_anyway_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    """A process limit below the machine's memory: torch's message becomes a DataError."""
    def fail(*_args: object) -> None:
        raise RuntimeError("[enforce fail at alloc_cpu.cpp:121] DefaultCPUAllocator: can't allocate memory: "
                           "you tried to allocate 1000 bytes.\nframe #0: c10::...")

    monkeypatch.setattr(_tensors, "_resize", fail)
    with pytest.raises(DataError) as info:
        load_dataset("mnist", image_size=32)
    assert str(info.value).startswith("mnist: resizing to 32x32 (") and "\n" not in str(info.value)
    assert str(info.value).endswith("failed: not enough memory for this process; accepted: a smaller image_size or limit")


def test_other_errors_of_the_resize_are_not_hidden(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*_args: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(_tensors, "_resize", fail)
    with pytest.raises(RuntimeError, match="a bug"):
        load_dataset("mnist", image_size=32)
