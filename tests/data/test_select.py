"""Class subsets (classes: K, the first K by sorted name) and per-class caps for cifar100 and
image folders, as for prepared sets."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from data.cifar100_files import make_cifar100_dir
from PIL import Image

from octsearch.data import load_dataset
from octsearch.data.select import select_rows
from octsearch.errors import ConfigError


def test_cifar100_keeps_the_first_classes_in_train_and_test(tmp_path: Path) -> None:
    root = make_cifar100_dir(tmp_path / "c100")
    data = load_dataset("cifar100", root=root, split="test", classes=10, per_class=1)
    assert data.class_names == tuple(f"fine{i:02d}" for i in range(10)) and data.num_classes == 10
    assert data.num_train == 10 and data.num_val == 10  # one training image a class; the test images of the 10
    assert sorted(data.train_y.tolist()) == list(range(10)) and sorted(data.val_y.tolist()) == list(range(10))
    assert "10 of 100 classes (first by sorted name), at most 1 a class" in data.description
    everything = load_dataset("cifar100", root=root, split="test")
    kept = {bytes(x) for x in data.train.images}
    assert kept <= {bytes(x) for x in everything.train.images}  # pixels unchanged, only rows dropped


def test_an_image_folder_keeps_a_subset_of_its_classes(tmp_path: Path) -> None:
    for name in ("zebra", "ant", "moth"):
        (tmp_path / name).mkdir()
        for i in range(6):
            Image.new("RGB", (16, 16), (i * 40, 0, 0)).save(tmp_path / name / f"{i}.png")
    data = load_dataset("imagefolder", root=tmp_path, image_size=16, classes=2, per_class=4, val_fraction=0.25)
    assert data.class_names == ("ant", "moth") and data.num_train + data.num_val == 8
    assert torch.bincount(torch.cat([data.train_y, data.val_y])).tolist() == [4, 4]


def test_too_many_classes_is_one_line() -> None:
    with pytest.raises(ConfigError) as info:
        select_rows(np.arange(10) % 5, tuple("abcde"), classes=6, where="set")
    assert str(info.value) == "set: classes=6 but the set has 5 classes; accepted: 1..5"
