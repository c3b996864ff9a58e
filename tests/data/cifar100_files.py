"""Writes small directories in CIFAR-100's python pickle format (``train``, ``test``, ``meta``)."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np

TRAIN_PER_CLASS = 2  # 200 training images
TEST_PER_CLASS = 1  # 100 test images


def write_pickle(path: Path, obj: object) -> None:
    with path.open("wb") as f:
        pickle.dump(obj, f, protocol=2)  # the protocol the real files use


def cifar100_batch(n: int, rng: np.random.Generator, *, str_keys: bool = False) -> dict:
    """A batch of ``n`` random images whose fine labels cycle through 0..99."""
    key = (lambda k: k) if str_keys else (lambda k: k.encode())
    fine = [i % 100 for i in range(n)]
    return {
        key("filenames"): [f"img_{i}.png".encode() for i in range(n)],
        key("batch_label"): b"fake",
        key("fine_labels"): fine,
        key("coarse_labels"): [f // 5 for f in fine],
        key("data"): rng.integers(0, 256, size=(n, 3072), dtype=np.uint8),
    }


def make_cifar100_dir(directory: Path, *, meta: bool = True, str_keys: bool = False) -> Path:
    """A CIFAR-100 directory in the real layout, with random images and names ``fine00..fine99``."""
    rng = np.random.default_rng(100)
    directory.mkdir(parents=True, exist_ok=True)
    write_pickle(directory / "train", cifar100_batch(100 * TRAIN_PER_CLASS, rng, str_keys=str_keys))
    write_pickle(directory / "test", cifar100_batch(100 * TEST_PER_CLASS, rng, str_keys=str_keys))
    if meta:
        key = (lambda k: k) if str_keys else (lambda k: k.encode())
        write_pickle(directory / "meta", {
            key("fine_label_names"): [f"fine{i:02d}".encode() for i in range(100)],
            key("coarse_label_names"): [f"coarse{i:02d}".encode() for i in range(20)],
        })
    return directory
