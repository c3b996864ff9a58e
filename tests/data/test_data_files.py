"""cifar10 and imagefolder sources, read from tiny files built in temporary directories."""

from __future__ import annotations

import os
import pickle
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from octsearch.data import load_dataset
from octsearch.errors import ConfigError, DataError

TRAIN_NAMES = [f"data_batch_{i}" for i in range(1, 6)]
CIFAR_TRAIN_PER_BATCH = 30  # 5 batches -> 150 training-pool images, 15 a class
CIFAR_TEST = 20
POOL = 5 * CIFAR_TRAIN_PER_BATCH


def write_pickle(path: Path, obj: object) -> None:
    with path.open("wb") as f:
        pickle.dump(obj, f, protocol=2)  # the protocol the real files use


def make_cifar_dir(directory: Path, *, meta: bool = True, str_keys: bool = False) -> Path:
    """A CIFAR-10 directory in the real layout, with random unique images."""
    rng = np.random.default_rng(123)
    directory.mkdir(parents=True, exist_ok=True)
    key = (lambda k: k) if str_keys else (lambda k: k.encode())
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for name in names:
        n = CIFAR_TEST if name == "test_batch" else CIFAR_TRAIN_PER_BATCH
        data = rng.integers(0, 256, size=(n, 3072), dtype=np.uint8)
        labels = [i % 10 for i in range(n)]  # every class in every batch
        write_pickle(
            directory / name,
            {key("batch_label"): b"fake", key("labels"): labels, key("data"): data},
        )
    if meta:
        label_names = [f"class{i}".encode() for i in range(10)]
        write_pickle(
            directory / "batches.meta", {key("label_names"): label_names, key("num_vis"): 3072}
        )
    return directory


def read_cifar_rows(directory: Path, names: list[str]) -> dict[bytes, int]:
    """Raw image bytes (3 x 32 x 32, channel-major) -> label, straight from the files."""
    rows: dict[bytes, int] = {}
    for name in names:
        with (directory / name).open("rb") as f:
            batch = pickle.load(f, encoding="bytes")
        for row, label in zip(batch[b"data"], batch[b"labels"], strict=True):
            rows[row.tobytes()] = int(label)
    return rows


@pytest.fixture(scope="module")
def cifar_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_cifar_dir(tmp_path_factory.mktemp("cifar") / "cifar-10-batches-py")


IMAGEFOLDER_COLOURS = {"blue": (0, 0, 255), "green": (0, 255, 0), "red": (255, 0, 0)}
IMAGES_PER_CLASS = 5


def make_imagefolder(root: Path) -> Path:
    """Three classes of solid-colour images of mixed sizes and formats, plus files to ignore."""
    sizes = [(20, 30), (40, 40), (8, 8), (64, 48), (33, 17)]
    formats = ["png", "png", "jpg", "bmp", "gif"]
    for name, colour in IMAGEFOLDER_COLOURS.items():
        folder = root / name
        (folder / "nested").mkdir(parents=True)
        for i in range(IMAGES_PER_CLASS):
            target = folder / "nested" if i == 0 else folder
            Image.new("RGB", sizes[i], colour).save(target / f"{i:03d}.{formats[i]}")
        (folder / "notes.txt").write_text("not an image")
        (folder / ".hidden").mkdir()
        Image.new("RGB", (10, 10), (1, 2, 3)).save(folder / ".hidden" / "skip.png")
    (root / "README.txt").write_text("files at the top level are ignored")
    return root


@pytest.fixture(scope="module")
def image_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_imagefolder(tmp_path_factory.mktemp("imagefolder") / "images")


def raw_bytes(x: torch.Tensor, mean: tuple[float, ...], std: tuple[float, ...]) -> list[bytes]:
    pixels = (x * torch.tensor(std).view(1, -1, 1, 1) + torch.tensor(mean).view(1, -1, 1, 1)) * 255
    return [row.tobytes() for row in pixels.round().to(torch.uint8).numpy()]


def copy_cifar(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def data_error(tmp: Path | str, **kwargs: object) -> str:
    with pytest.raises(DataError) as e:
        load_dataset(kwargs.pop("name", "cifar10"), root=tmp, **kwargs)  # type: ignore[arg-type]
    message = str(e.value)
    assert "\n" not in message
    return message


# ---------------------------------------------------------------- cifar10
def test_cifar10_split_from_the_training_batches(cifar_dir: Path) -> None:
    data = load_dataset("cifar10", root=cifar_dir)
    assert (data.num_train, data.num_val) == (POOL * 4 // 5, POOL // 5)
    assert data.train_x.shape[1:] == (3, 32, 32) and (data.in_chans, data.image_size) == (3, 32)
    assert data.class_names == tuple(f"class{i}" for i in range(10))  # from batches.meta
    assert torch.bincount(data.val_y, minlength=10).tolist() == [3] * 10
    assert "data_batch_1..5" in data.description and "20% of each class" in data.description


def test_cifar10_pixels_and_labels_keep_the_file_layout(cifar_dir: Path) -> None:
    data = load_dataset("cifar10", root=cifar_dir)
    rows = read_cifar_rows(cifar_dir, TRAIN_NAMES)
    mean, std = data.normalisation.mean, data.normalisation.std
    train = raw_bytes(data.train_x, mean, std)
    val = raw_bytes(data.val_x, mean, std)
    # each image is a row of the files, reshaped channel-major (1024 R, 1024 G, 1024 B), with its label
    assert [rows[b] for b in train] == data.train_y.tolist()
    assert [rows[b] for b in val] == data.val_y.tolist()
    assert set(train) | set(val) == set(rows) and not set(train) & set(val)
    pool = np.frombuffer(b"".join(train), dtype=np.uint8).reshape(-1, 3, 1024) / 255.0
    np.testing.assert_allclose(mean, pool.mean(axis=(0, 2)), atol=1e-6)
    np.testing.assert_allclose(std, pool.std(axis=(0, 2)), atol=1e-6)
    assert len(mean) == 3


def test_cifar10_test_split_validates_on_test_batch(cifar_dir: Path) -> None:
    data = load_dataset("cifar10", root=cifar_dir, split="test", val_fraction=0.5)
    assert (data.num_train, data.num_val) == (POOL, CIFAR_TEST)
    test_rows = read_cifar_rows(cifar_dir, ["test_batch"])
    val = raw_bytes(data.val_x, data.normalisation.mean, data.normalisation.std)
    assert val == list(test_rows)  # in file order
    assert "validation = test_batch (20 images)" in data.description


def test_cifar10_limit_with_test_split_keeps_every_class(cifar_dir: Path) -> None:
    data = load_dataset("cifar10", root=cifar_dir, split="test", limit=40)
    assert data.num_train + data.num_val == 40 and data.num_val >= 10
    assert set(data.val_y.tolist()) == set(range(10))


def test_cifar10_is_deterministic_and_seeded(cifar_dir: Path) -> None:
    a = load_dataset("cifar10", root=cifar_dir, seed=5, image_size=16)
    b = load_dataset("cifar10", root=str(cifar_dir), seed=5, image_size=16)
    c = load_dataset("cifar10", root=cifar_dir, seed=6, image_size=16)
    assert a.train_x.shape[1:] == (3, 16, 16)
    assert torch.equal(a.train_x, b.train_x) and torch.equal(a.val_y, b.val_y)
    assert not torch.equal(a.val_x, c.val_x)


def test_cifar10_parent_directory_and_defaults(tmp_path: Path, cifar_dir: Path) -> None:
    # ROOT may be the directory that holds cifar-10-batches-py/, and batches.meta is optional
    copy_cifar(cifar_dir, tmp_path / "cifar-10-batches-py")
    (tmp_path / "cifar-10-batches-py" / "batches.meta").unlink()
    data = load_dataset("cifar10", root=tmp_path)
    assert data.class_names[:3] == ("airplane", "automobile", "bird")


def test_cifar10_str_keys_are_accepted(tmp_path: Path) -> None:
    data = load_dataset("cifar10", root=make_cifar_dir(tmp_path / "c", str_keys=True), limit=50)
    assert data.num_train + data.num_val == 50


def test_cifar10_missing_directory(tmp_path: Path) -> None:
    message = data_error(tmp_path / "nowhere")
    assert f"directory {tmp_path / 'nowhere'} does not exist" in message
    assert "data_batch_1..data_batch_5" in message and "python pickle" in message


def test_cifar10_missing_batch_is_named(tmp_path: Path, cifar_dir: Path) -> None:
    root = copy_cifar(cifar_dir, tmp_path / "c")
    (root / "data_batch_3").unlink()
    message = data_error(root)
    assert message == (
        f"cifar10: expected data_batch_1..data_batch_5 (python pickle format, from cifar-10-python.tar.gz) "
        f"in {root}; missing: data_batch_3"
    )


def test_cifar10_test_split_needs_test_batch(tmp_path: Path, cifar_dir: Path) -> None:
    root = copy_cifar(cifar_dir, tmp_path / "c")
    (root / "test_batch").unlink()
    assert load_dataset("cifar10", root=root).num_val == POOL // 5  # split=val does not need it
    message = data_error(root, split="test")
    assert "data_batch_1..data_batch_5 and test_batch" in message and message.endswith(
        "missing: test_batch"
    )


def test_cifar10_bad_split_option(cifar_dir: Path) -> None:
    with pytest.raises(
        ConfigError, match=r"option split='train' is not accepted; choose one of: 'val', 'test'"
    ):
        load_dataset("cifar10", root=cifar_dir, split="train")


def _corrupt(root: Path, name: str, content: object, raw: bytes | None = None) -> None:
    if raw is not None:
        (root / name).write_bytes(raw)
    else:
        write_pickle(root / name, content)


@pytest.mark.parametrize(
    ("content", "raw", "pattern"),
    [
        (
            None,
            b"this is not a pickle\n",
            r"is not a python pickle \(.*\); expected a python pickle format",
        ),
        (None, b"", r"is not a python pickle"),
        ([1, 2, 3], None, r"holds list; expected a dict with b\"data\""),
        ({b"data": np.zeros((4, 3072), np.uint8)}, None, r"holds a dict with keys \[\"b'data'\"\]"),
        (
            {b"data": np.zeros((4, 100), np.uint8), b"labels": [0] * 4},
            None,
            r"b\"data\" as uint8 array of shape \(4, 100\)",
        ),
        ({b"data": [[0] * 3072], b"labels": [0]}, None, r"b\"data\" as not an array"),
        (
            {b"data": np.zeros((4, 3072), np.uint8), b"labels": [0] * 3},
            None,
            r"has 4 images but 3 labels",
        ),
        (
            {b"data": np.zeros((2, 3072), np.uint8), b"labels": [0, 10]},
            None,
            r"labels outside 0..9 \(found 0..10\)",
        ),
        (
            {b"data": np.full((2, 3072), 300, np.int32), b"labels": [0, 1]},
            None,
            r"pixel values outside 0..255",
        ),
        (
            {b"data": np.zeros((2, 3072), np.uint8), b"labels": ["a", "b"]},
            None,
            r"b\"labels\" that are not integers",
        ),
    ],
)
def test_cifar10_wrong_format_is_a_one_line_data_error(
    tmp_path: Path, cifar_dir: Path, content: object, raw: bytes | None, pattern: str
) -> None:
    root = copy_cifar(cifar_dir, tmp_path / "c")
    _corrupt(root, "data_batch_2", content, raw)
    message = data_error(root)
    assert str(root / "data_batch_2") in message
    assert re.search(pattern, message), message


def test_cifar10_malformed_meta(tmp_path: Path, cifar_dir: Path) -> None:
    root = copy_cifar(cifar_dir, tmp_path / "c")
    write_pickle(root / "batches.meta", {b"label_names": [b"a", b"b"]})
    message = data_error(root)
    assert str(root / "batches.meta") in message and "label_names" in message


class _Exploit:
    def __init__(self, target: Path) -> None:
        self.target = target

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.mkdir, (str(self.target),))


def test_cifar10_refuses_pickles_that_run_code(tmp_path: Path, cifar_dir: Path) -> None:
    root = copy_cifar(cifar_dir, tmp_path / "c")
    target = tmp_path / "pwned"
    (root / "data_batch_1").write_bytes(pickle.dumps({b"data": _Exploit(target), b"labels": []}))
    message = data_error(root)
    assert "refusing to load posix.mkdir" in message or "refusing to load os.mkdir" in message
    assert not target.exists()


# ---------------------------------------------------------------- imagefolder
def test_imagefolder_reads_classes_recursively(image_dir: Path) -> None:
    data = load_dataset("imagefolder", root=image_dir, image_size=16)
    n = len(IMAGEFOLDER_COLOURS) * IMAGES_PER_CLASS
    assert data.num_train + data.num_val == n  # .txt files and hidden folders are ignored
    assert data.class_names == tuple(sorted(IMAGEFOLDER_COLOURS))
    assert data.train_x.shape[1:] == (3, 16, 16) and (data.in_chans, data.image_size) == (3, 16)
    assert set(data.val_y.tolist()) == {0, 1, 2}
    assert (
        f"image folder {image_dir}" in data.description
        and "resized by Pillow to 16x16" in data.description
    )


def test_imagefolder_pixels_match_the_files(image_dir: Path) -> None:
    data = load_dataset("imagefolder", root=image_dir, image_size=8, resize="nearest")
    mean = torch.tensor(data.normalisation.mean).view(1, -1, 1, 1)
    std = torch.tensor(data.normalisation.std).view(1, -1, 1, 1)
    pixels = ((data.train_x * std + mean) * 255).round()
    for image, label in zip(pixels, data.train_y.tolist(), strict=True):
        colour = torch.tensor(IMAGEFOLDER_COLOURS[data.class_names[label]], dtype=torch.float32)
        # solid colours survive png/bmp/gif exactly and jpg within its loss
        assert (image - colour.view(3, 1, 1)).abs().max() <= 8


def test_imagefolder_defaults_to_32_and_greyscale(image_dir: Path) -> None:
    data = load_dataset("imagefolder", root=image_dir, in_chans=1)
    assert data.train_x.shape[1:] == (1, 32, 32) and data.in_chans == 1
    assert len(data.normalisation.mean) == 1


def test_imagefolder_is_deterministic(image_dir: Path) -> None:
    a = load_dataset("imagefolder", root=image_dir, image_size=16, seed=2)
    b = load_dataset("imagefolder", root=image_dir, image_size=16, seed=2)
    assert torch.equal(a.train_x, b.train_x) and torch.equal(a.val_y, b.val_y)


def test_imagefolder_bad_options(image_dir: Path) -> None:
    with pytest.raises(
        ConfigError, match=r"option in_chans=2 is not accepted; choose one of: 3, 1"
    ):
        load_dataset("imagefolder", root=image_dir, in_chans=2)
    with pytest.raises(ConfigError, match=r"option resize='pad' is not accepted"):
        load_dataset("imagefolder", root=image_dir, resize="pad")


def test_imagefolder_missing_directory(tmp_path: Path) -> None:
    message = data_error(tmp_path / "none", name="imagefolder")
    assert (
        f"directory {tmp_path / 'none'} does not exist" in message
        and "one sub-folder per class" in message
    )


def test_imagefolder_without_class_folders(tmp_path: Path) -> None:
    Image.new("RGB", (4, 4)).save(tmp_path / "loose.png")
    message = data_error(tmp_path, name="imagefolder")
    assert message.startswith(f"imagefolder: no class sub-folders in {tmp_path}")


def test_imagefolder_with_one_class(tmp_path: Path) -> None:
    (tmp_path / "cat").mkdir()
    Image.new("RGB", (4, 4)).save(tmp_path / "cat" / "a.png")
    assert "only one class sub-folder (cat)" in data_error(tmp_path, name="imagefolder")


def test_imagefolder_class_without_images(tmp_path: Path) -> None:
    root = make_imagefolder(tmp_path / "images")
    (root / "empty").mkdir()
    (root / "empty" / "notes.txt").write_text("x")
    message = data_error(root, name="imagefolder")
    assert message.startswith(
        f"imagefolder: class folder {root / 'empty'} holds no images (png, jpg"
    )


def test_imagefolder_unreadable_image(tmp_path: Path) -> None:
    root = make_imagefolder(tmp_path / "images")
    bad = root / "red" / "broken.png"
    bad.write_text("not a png")
    message = data_error(root, name="imagefolder")
    assert message.startswith(f"imagefolder: cannot read image {bad}")
