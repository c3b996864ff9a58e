"""The cifar100 reader, on small directories in CIFAR-100's pickle format built by the tests."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from data.cifar100_files import TEST_PER_CLASS, TRAIN_PER_CLASS, make_cifar100_dir, write_pickle

from octsearch.cli.main import main
from octsearch.data import dataset_info, load_dataset
from octsearch.data.cifar10 import load_cifar10
from octsearch.data.cifar100 import CLASS_NAMES, OPTIONS, SUMMARY, load_cifar100
from octsearch.errors import DataError

VAL = {"split": "val", "resize": "bilinear"}
TEST = {"split": "test", "resize": "bilinear"}


@pytest.fixture(scope="module")
def cifar100_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_cifar100_dir(tmp_path_factory.mktemp("c100") / "cifar-100-python")


def error(root: Path, options: dict = VAL) -> str:
    with pytest.raises(DataError) as e:
        load_cifar100(root, options, None)
    assert "\n" not in str(e.value)
    return str(e.value)


def test_reads_the_train_file_as_uint8_chw_with_fine_labels(cifar100_dir: Path) -> None:
    pool = load_cifar100(cifar100_dir, VAL, None)
    assert pool.images.dtype == np.uint8 and pool.images.shape == (100 * TRAIN_PER_CLASS, 3, 32, 32)
    assert pool.labels.dtype == np.int64 and pool.labels.tolist() == [i % 100 for i in range(200)]
    assert pool.class_names == tuple(f"fine{i:02d}" for i in range(100))
    assert (pool.max_value, pool.side, pool.in_chans, pool.val_images) == (255, 32, 3, None)
    with (cifar100_dir / "train").open("rb") as f:
        rows = pickle.load(f, encoding="bytes")[b"data"]
    # row layout as CIFAR-10's: 1024 red, then green, then blue values, rows of 32 pixels
    assert np.array_equal(pool.images.reshape(len(rows), -1), rows)
    assert np.array_equal(pool.images[0, 1, 0, :], rows[0, 1024:1056])


def test_split_test_gives_the_test_file_as_fixed_validation(cifar100_dir: Path) -> None:
    pool = load_cifar100(cifar100_dir, TEST, None)
    assert pool.val_images is not None and pool.val_images.shape == (100 * TEST_PER_CLASS, 3, 32, 32)
    assert pool.val_labels.tolist() == list(range(100)) and "test (100 images)" in pool.val_source


def test_parent_directory_str_keys_and_missing_meta(tmp_path: Path) -> None:
    make_cifar100_dir(tmp_path / "cifar-100-python", meta=False, str_keys=True)
    pool = load_cifar100(tmp_path, VAL, None)  # the parent of cifar-100-python/
    assert pool.class_names == CLASS_NAMES and len(CLASS_NAMES) == 100
    assert CLASS_NAMES[:3] == ("apple", "aquarium_fish", "baby") and CLASS_NAMES[-1] == "worm"


def test_same_return_types_as_cifar10(cifar100_dir: Path, tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)]:
        write_pickle(tmp_path / name, {b"data": rng.integers(0, 256, (10, 3072), dtype=np.uint8),
                                       b"labels": list(range(10))})
    ten = load_cifar10(tmp_path, VAL, None)
    hundred = load_cifar100(cifar100_dir, VAL, None)
    assert type(ten) is type(hundred)
    assert (ten.images.dtype, ten.images.shape[1:], ten.labels.dtype) == (
        hundred.images.dtype, hundred.images.shape[1:], hundred.labels.dtype)


def test_registered_and_loaded_through_the_float_pipeline(cifar100_dir: Path, capsys) -> None:
    info = dataset_info("cifar100")
    assert info.summary == SUMMARY and info.options == OPTIONS and info.needs_root
    data = load_dataset("cifar100", root=cifar100_dir.parent, val_fraction=0.2)
    assert data.num_classes == 100 and data.image_size == 32 and data.class_names[0] == "fine00"
    assert data.train_x.dtype == torch.float32 and data.num_train + data.num_val == 100 * TRAIN_PER_CLASS
    test = load_dataset("cifar100", root=cifar100_dir, split="test")
    assert test.num_val == 100 * TEST_PER_CLASS
    assert main(["dataset", "show", "cifar100", "--root", str(cifar100_dir), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["num_classes"] == 100


def test_missing_directory_and_files(tmp_path: Path, cifar100_dir: Path) -> None:
    assert error(tmp_path / "nope").startswith(f"cifar100: directory {tmp_path / 'nope'} does not exist")
    assert "missing: train" in error(tmp_path)
    only_train = tmp_path / "only"
    only_train.mkdir()
    (only_train / "train").write_bytes((cifar100_dir / "train").read_bytes())
    assert "expected train and test" in error(only_train, TEST) and "missing: test" in error(only_train, TEST)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"garbage", "is not a python pickle"),
        ("list", "holds list"),
        ("cifar10", 'holds a dict with keys'),
        ("shape", 'has b"data" as uint8 array of shape (3, 10)'),
        ("count", "has 3 images but 2 fine labels"),
        ("range", "fine labels outside 0..99 (found 0..100)"),
        ("evil", "refusing to load os.system"),
    ],
)
def test_corrupt_files_are_one_line_errors(tmp_path: Path, content: object, message: str) -> None:
    rng = np.random.default_rng(0)
    path = tmp_path / "train"
    good = {b"data": rng.integers(0, 256, (3, 3072), dtype=np.uint8), b"fine_labels": [0, 1, 2]}
    objects = {
        "list": [1, 2],
        "cifar10": {b"data": good[b"data"], b"labels": [0, 1, 2]},
        "shape": {**good, b"data": np.zeros((3, 10), np.uint8)},
        "count": {**good, b"fine_labels": [0, 1]},
        "range": {**good, b"fine_labels": [0, 100, 5]},
    }
    if content == "evil":
        path.write_bytes(b"cos\nsystem\n(S'true'\ntR.")
    elif isinstance(content, bytes):
        path.write_bytes(content)
    else:
        write_pickle(path, objects[content])
    assert message in error(tmp_path)


def test_bad_meta(tmp_path: Path, cifar100_dir: Path) -> None:
    root = tmp_path / "m"
    root.mkdir()
    (root / "train").write_bytes((cifar100_dir / "train").read_bytes())
    write_pickle(root / "meta", {b"fine_label_names": [b"a"] * 99})
    assert 'no b"fine_label_names" list of 100 names' in error(root)
