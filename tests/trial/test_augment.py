"""Batched, seeded augmentation: crop with padding + flip, random-resized crop + flip, none."""

from __future__ import annotations

import math

import pytest
import torch

from octsearch.errors import ConfigError, UnknownNameError
from octsearch.trial.augment import (
    RRC_RATIO,
    augment_generator,
    crop_flip,
    default_augment,
    list_augments,
    make_augment,
    rrc_boxes,
)


def batch(n: int = 16, c: int = 3, side: int = 12, seed: int = 0) -> torch.Tensor:
    return torch.rand(n, c, side, side, generator=torch.Generator().manual_seed(seed)) * 0.9 + 0.1


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("name", ["crop_flip", "rrc_flip"])
def test_same_seed_same_output_other_seed_other_output(name: str) -> None:
    x = batch()
    augment = make_augment(name)
    a, b, c = augment(x, gen(1)), augment(x, gen(1)), augment(x, gen(2))
    assert a.shape == x.shape and a.dtype == x.dtype
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_crop_flip_is_a_shifted_window_of_the_zero_padded_image() -> None:
    x = batch(n=64)
    out = make_augment("crop_flip")(x, gen(3))
    # redraw the same random numbers: offsets (n, 2) in 0..8, then flips
    g = gen(3)
    offsets = torch.randint(0, 9, (64, 2), generator=g)
    flips = torch.rand(64, generator=g) < 0.5
    padded = torch.nn.functional.pad(x, (4, 4, 4, 4))
    for i in range(64):
        top, left = offsets[i].tolist()
        window = padded[i, :, top:top + 12, left:left + 12]
        assert torch.equal(out[i], window.flip(-1) if flips[i] else window)
    assert 10 < int(flips.sum()) < 54  # both kinds occur
    zero_rows = (out == 0).all(dim=(1, 3)).any(dim=1)
    assert zero_rows.any() and not zero_rows.all()  # padding shows where the offset moved the image


def test_crop_flip_extremes() -> None:
    x = batch()
    assert torch.equal(crop_flip(x, gen(0), padding=0, flip=0.0), x)
    assert torch.equal(crop_flip(x, gen(0), padding=0, flip=1.0), x.flip(-1))
    values = set(x.unique().tolist()) | {0.0}
    assert set(crop_flip(x, gen(0)).unique().tolist()) <= values  # pixels are moved, never mixed


def test_rrc_boxes_follow_torchvision_sampling() -> None:
    boxes = rrc_boxes(2000, 32, 32, gen(0))
    top, left, h, w = boxes.unbind(1)
    assert (top >= 0).all() and (left >= 0).all() and (top + h <= 32).all() and (left + w <= 32).all()
    assert (h >= 1).all() and (w >= 1).all()
    area = h * w / (32 * 32)
    assert area.min() >= 0.05 and area.max() <= 1.0 and 0.3 < area.mean() < 0.7  # about U(0.08, 1)
    ratio = w / h
    assert (ratio >= RRC_RATIO[0] * 0.8).all() and (ratio <= RRC_RATIO[1] * 1.25).all()  # up to rounding
    assert torch.equal(boxes, rrc_boxes(2000, 32, 32, gen(0)))


def test_rrc_falls_back_to_the_centre_crop_when_no_try_fits() -> None:
    # a wide image and a ratio range of exactly 1: a square of 90-100% of the area never fits
    boxes = rrc_boxes(8, 4, 100, gen(0), scale=(0.9, 1.0), ratio=(1.0, 1.0))
    assert boxes.tolist() == [[0.0, 48.0, 4.0, 4.0]] * 8


def test_rrc_identity_and_flip() -> None:
    x = batch()
    whole = make_augment("rrc_flip", scale=(1.0, 1.0), ratio=(1.0, 1.0), flip=0.0)
    assert torch.allclose(whole(x, gen(0)), x, atol=1e-5)
    flipped = make_augment("rrc_flip", scale=(1.0, 1.0), ratio=(1.0, 1.0), flip=1.0)
    assert torch.allclose(flipped(x, gen(0)), x.flip(-1), atol=1e-5)


def test_rrc_zooms_in_on_the_box() -> None:
    x = torch.zeros(1, 1, 16, 16)
    x[..., :8, :] = 1.0  # top half white
    out = make_augment("rrc_flip", scale=(0.2, 0.25), flip=0.0)(x, gen(5))
    top, _, h, _ = rrc_boxes(1, 16, 16, gen(5), scale=(0.2, 0.25))[0].tolist()
    if top + h <= 8:
        assert torch.allclose(out, torch.ones_like(out))
    elif top >= 8:
        assert torch.allclose(out, torch.zeros_like(out))
    assert 0 <= float(out.min()) and float(out.max()) <= 1  # bilinear inside the box: no overshoot


def test_values_stay_in_range_and_channels_last_and_half_work() -> None:
    x = batch().contiguous(memory_format=torch.channels_last)
    for name in list_augments():
        out = make_augment(name)(x, gen(0))
        assert out.shape == x.shape and 0 <= float(out.min()) and float(out.max()) <= 1
    assert make_augment("crop_flip")(x.half(), gen(0)).dtype == torch.float16


def test_none_returns_the_batch() -> None:
    x = batch()
    assert make_augment("none")(x, gen(0)) is x
    assert make_augment("none").description == "none"
    assert make_augment("crop_flip").description == "crop_flip (padding=4, flip=0.5)"


def test_bind_gives_a_one_argument_transform() -> None:
    x = batch()
    augment = make_augment("crop_flip")
    assert torch.equal(augment.bind(gen(7))(x), augment(x, gen(7)))


def test_defaults_per_kind_of_data_set() -> None:
    assert [default_augment(d) for d in ("mnist", "digits")] == ["none", "none"]
    assert [default_augment(d) for d in ("cifar10", "cifar100")] == ["crop_flip", "crop_flip"]
    assert [default_augment(d) for d in ("imagefolder", "prepared")] == ["rrc_flip", "rrc_flip"]
    with pytest.raises(UnknownNameError, match="unknown data set for a default augmentation 'svhn'; choose one of: cifar10"):
        default_augment("svhn")


def test_unknown_names_and_bad_options_list_the_choices() -> None:
    with pytest.raises(UnknownNameError) as e:
        make_augment("mixup")
    assert str(e.value) == "unknown augmentation 'mixup'; choose one of: crop_flip, none, rrc_flip"
    cases = [
        (("crop_flip",), {"scale": (0.5, 1)}, "augmentation crop_flip: unknown option 'scale'; accepted: flip, padding"),
        (("none",), {"flip": 0.5}, "unknown option 'flip'; accepted: (none)"),
        (("crop_flip",), {"padding": -1}, "padding=-1 is not accepted; use an integer from 0 to 64"),
        (("crop_flip",), {"flip": 1.5}, "flip=1.5 is not accepted; use a probability in [0, 1]"),
        (("rrc_flip",), {"scale": (0.5, 0.1)}, "scale=(0.5, 0.1) is not accepted; use [low, high] with 0 < low <= high <= 1.0"),
        (("rrc_flip",), {"ratio": "wide"}, "ratio='wide' is not accepted"),
    ]
    for args, kwargs, message in cases:
        with pytest.raises(ConfigError) as err:
            make_augment(*args, **kwargs)
        assert message in str(err.value) and "\n" not in str(err.value)


def test_augment_generator_is_seeded_and_its_own_stream() -> None:
    a = torch.rand(4, generator=augment_generator(3))
    assert torch.equal(a, torch.rand(4, generator=augment_generator(3)))
    assert not torch.equal(a, torch.rand(4, generator=augment_generator(4)))
    assert not torch.equal(a, torch.rand(4, generator=torch.Generator().manual_seed(3)))


def test_a_batch_that_is_not_4d_is_refused() -> None:
    with pytest.raises(ValueError, match=r"needs \(N, C, H, W\) batches"):
        make_augment("crop_flip")(torch.zeros(3, 8, 8), gen(0))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("name", ["crop_flip", "rrc_flip"])
def test_cuda_gives_the_cpu_result(name: str) -> None:
    x = batch(n=32)
    cpu = make_augment(name)(x, gen(9))
    gpu = make_augment(name)(x.cuda(), gen(9))
    assert gpu.device.type == "cuda" and torch.allclose(cpu, gpu.cpu(), atol=1e-5)
    assert math.isfinite(float(gpu.sum()))
