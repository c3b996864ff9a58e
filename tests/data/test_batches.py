"""Seeded uint8 batches, normalised per batch: from memory maps, read-only arrays and tensors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from octsearch.data.batches import BatchReader, channel_stats, steps_per_epoch
from octsearch.data.prepare import prepare_arrays
from octsearch.data.prepared import open_prepared

MEAN, STD = (0.5, 0.4, 0.3), (0.2, 0.25, 0.3)


def pool(n: int = 50, side: int = 4, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 3, side, side), dtype=np.uint8), np.arange(n) % 5


def reader(images, labels, **kwargs) -> BatchReader:
    return BatchReader(images, labels, mean=MEAN, std=STD, **kwargs)


def epoch(r: BatchReader, seed: int, batch: int = 8, **kwargs) -> list[tuple[torch.Tensor, torch.Tensor]]:
    return list(r.epoch(batch, torch.Generator().manual_seed(seed), **kwargs))


def normalised(images: np.ndarray) -> torch.Tensor:
    x = torch.from_numpy(images).double() / 255
    return ((x - torch.tensor(MEAN).double().view(1, -1, 1, 1)) / torch.tensor(STD).double().view(1, -1, 1, 1)).float()


def test_an_epoch_reads_every_image_once_normalised() -> None:
    images, labels = pool()
    batches = epoch(reader(images, labels), seed=0)
    assert len(batches) == steps_per_epoch(50, 8) == 7  # 6 full batches and one of 2
    x = torch.cat([b[0] for b in batches])
    y = torch.cat([b[1] for b in batches])
    assert x.dtype == torch.float32 and x.shape == (50, 3, 4, 4) and y.dtype == torch.int64
    expected = normalised(images)
    # match each batch image to its source row: nearest row in the normalised set
    distance = torch.cdist(x.flatten(1).double(), expected.flatten(1).double())
    matched = distance.argmin(1)
    assert torch.allclose(x, expected[matched], atol=1e-5) and sorted(matched.tolist()) == list(range(50))
    assert torch.equal(y, torch.from_numpy(labels)[matched])


def test_a_last_batch_of_one_is_dropped() -> None:
    images, labels = pool(17)
    assert [len(b[1]) for b in epoch(reader(images, labels), 0)] == [8, 8]
    assert steps_per_epoch(18, 8) == 3


def test_same_seed_same_batches_other_seed_other_order() -> None:
    images, labels = pool()
    r = reader(images, labels)
    a, b, c = epoch(r, 1), epoch(r, 1), epoch(r, 2)
    assert all(torch.equal(p[0], q[0]) and torch.equal(p[1], q[1]) for p, q in zip(a, b, strict=True))
    assert not all(torch.equal(p[0], q[0]) for p, q in zip(a, c, strict=True))


def test_the_order_is_torch_randperm_of_the_generator() -> None:
    images, labels = pool(24)
    r = reader(images, np.arange(24), prefetch=False)
    got = torch.cat([y for _, y in epoch(r, 5, batch=24)])
    order = torch.randperm(24, generator=torch.Generator().manual_seed(5))
    assert sorted(got.tolist()) == sorted(order.tolist())  # inside a batch rows are read in file order
    got8 = [set(y.tolist()) for _, y in epoch(r, 5, batch=8)]
    assert got8 == [set(order[i:i + 8].tolist()) for i in (0, 8, 16)]


def test_prefetch_gives_the_same_batches() -> None:
    images, labels = pool()
    on = epoch(reader(images, labels, prefetch=True), 3)
    off = epoch(reader(images, labels, prefetch=False), 3)
    assert all(torch.equal(p[0], q[0]) and torch.equal(p[1], q[1]) for p, q in zip(on, off, strict=True))


def test_a_memory_map_a_read_only_array_and_a_tensor_give_the_same_batches(tmp_path: Path) -> None:
    images, labels = pool()
    prepare_arrays(images, labels, [f"c{i}" for i in range(5)], tmp_path / "set", source="test", chunk_size=16)
    data = open_prepared(tmp_path / "set")
    frozen = images.copy()
    frozen.setflags(write=False)  # what Ray's object store hands a worker
    sources = [data.images, frozen, torch.from_numpy(images)]
    results = [epoch(reader(s, labels), 4) for s in sources]
    for other in results[1:]:
        assert all(torch.equal(p[0], q[0]) and torch.equal(p[1], q[1]) for p, q in zip(results[0], other, strict=True))


def test_indices_select_rows_with_their_own_labels(tmp_path: Path) -> None:
    images, labels = pool()
    prepare_arrays(images, labels, [f"c{i}" for i in range(5)], tmp_path / "set", source="test", chunk_size=16)
    data = open_prepared(tmp_path / "set")
    sel = data.select(2)
    r = reader(data.images, sel.labels, indices=sel.indices)
    assert len(r) == 20
    x, y = zip(*r.sequential(6), strict=True)
    assert [len(b) for b in y] == [6, 6, 6, 2]
    assert torch.allclose(torch.cat(x), normalised(images[sel.indices]), atol=1e-5)
    assert torch.equal(torch.cat(y), torch.from_numpy(sel.labels))


def test_the_transform_sees_pixels_in_0_1_before_normalising() -> None:
    images, labels = pool()
    seen: list[tuple[float, float]] = []

    def transform(x: torch.Tensor) -> torch.Tensor:
        seen.append((float(x.min()), float(x.max())))
        return torch.zeros_like(x)  # black

    x, _ = next(iter(reader(images, labels).epoch(8, torch.Generator(), transform)))
    assert 0 <= seen[0][0] and seen[0][1] <= 1
    black = (-torch.tensor(MEAN) / torch.tensor(STD)).view(1, 3, 1, 1).expand_as(x)
    assert torch.allclose(x, black)


def test_channels_last_wait_time_and_counts() -> None:
    images, labels = pool()
    r = reader(images, labels, memory_format=torch.channels_last)
    x, _ = epoch(r, 0)[0]
    assert x.is_contiguous(memory_format=torch.channels_last)
    assert r.batches == 7 and r.wait_seconds > 0


def test_a_large_memory_map_is_never_loaded_whole(tmp_path: Path) -> None:
    n = 20_000  # 20,000 x 3 x 64 x 64 = 246 MB, a sparse file
    images = np.lib.format.open_memmap(tmp_path / "big.npy", "w+", np.uint8, (n, 3, 64, 64))
    images[::1000] = 200
    images.flush()
    mapped = np.load(tmp_path / "big.npy", mmap_mode="r")
    before = _rss()
    r = reader(mapped, np.zeros(n, dtype=np.int64))
    batches = []
    for i, batch in enumerate(r.epoch(64, torch.Generator().manual_seed(0))):
        batches.append(batch)
        if i == 4:
            break
    assert len(batches) == 5 and _rss() - before < 60e6  # 5 batches, not the 246 MB


def _rss() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096


def test_exact_channel_statistics_from_uint8() -> None:
    images, _ = pool(40, side=6)
    mean, std = channel_stats(images, np.arange(0, 40, 2))
    pixels = images[::2].astype(np.float64) / 255
    np.testing.assert_allclose(mean, pixels.mean(axis=(0, 2, 3)), rtol=1e-12)
    np.testing.assert_allclose(std, pixels.std(axis=(0, 2, 3)), rtol=1e-9)
    constant = np.full((3, 1, 2, 2), 7, dtype=np.uint8)
    assert channel_stats(torch.from_numpy(constant), max_value=16) == ((7 / 16,), (1.0,))


def test_wrong_inputs_are_refused() -> None:
    images, labels = pool()
    with pytest.raises(ValueError, match="uint8"):
        reader(images.astype(np.float32), labels)
    with pytest.raises(ValueError, match="49 labels"):
        reader(images, labels[:49])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_batches_on_cuda_equal_the_cpu_ones() -> None:
    images, labels = pool()
    cpu = epoch(reader(images, labels), 0)
    gpu = epoch(reader(images, labels, device="cuda"), 0)
    assert gpu[0][0].device.type == "cuda"
    assert all(torch.allclose(p[0], q[0].cpu(), atol=1e-6) and torch.equal(p[1], q[1].cpu())
               for p, q in zip(cpu, gpu, strict=True))
