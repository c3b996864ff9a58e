"""The training recipe of a trial: augmentation and label smoothing from the space, the CPU's float32
and determinism, and (where CUDA is present) mixed precision, autotuning and the data on the GPU."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from octsearch.errors import SpaceError
from octsearch.spaces import load_space
from octsearch.trial import run_trial
from octsearch.trial.recipe import kernel_settings, recipe_for, split_reader

CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")

SPACE = """\
model: {{name: oct_resnet20, args: {{width_mult: 0.5}}}}
data: {{name: digits, seed: 0, val_fraction: 0.25, limit: 240, image_size: 16, options: {{resize: pad}}{augment}}}
search: {{per: stage, grid: [0, 0.5]}}
budget: {{epochs: 1, batch_size: 32, optimizer: {{name: sgd, lr: 0.05}}, threads: 1{budget}}}
"""


def space(tmp_path: Path, augment: str = "", budget: str = "", name: str = "s"):
    path = tmp_path / f"{name}.yaml"
    path.write_text(SPACE.format(augment=f", augment: {augment}" if augment else "", budget=budget))
    return load_space(path)


def trained_weights(s, seed: int = 0) -> torch.Tensor:
    """The weights after one epoch of the trial's own training loop."""
    from octsearch.trial.run import _TrainingLoop

    cpu = torch.device("cpu")
    with kernel_settings(1, cpu, deterministic=False):
        loop = _TrainingLoop.build(s, s.with_cost(s.configuration(0.5)), s.budget(), seed, cpu, s.data.load())
        loop.run(1, False, None)
    return torch.cat([p.detach().flatten() for p in loop.model.parameters()])


def test_the_space_names_the_augmentation_and_the_default_is_the_data_sets(tmp_path: Path) -> None:
    plain = trained_weights(space(tmp_path, name="a"))
    assert torch.equal(trained_weights(space(tmp_path, "none", name="b")), plain)  # digits: none by default
    crop = space(tmp_path, "{name: crop_flip, options: {padding: 2}}", name="c")
    cropped = trained_weights(crop)
    assert torch.equal(trained_weights(crop), cropped) and not torch.equal(cropped, plain)  # seeded per evaluation
    result = run_trial(crop, crop.uniform(0.5), device="cpu")
    assert result.precision == "float32" and 0 < result.data_wait_seconds <= result.train_seconds


def test_label_smoothing_reaches_the_loss_and_trials_stay_repeatable(tmp_path: Path) -> None:
    from octsearch.trial.train import make_optimizer, train_epoch

    smooth = space(tmp_path, budget=", label_smoothing: 0.3", name="d")
    assert smooth.budget().label_smoothing == 0.3 and space(tmp_path, name="e").budget().label_smoothing == 0
    a, b = (run_trial(smooth, smooth.uniform(0.5), device="cpu") for _ in range(2))
    assert a.correct == b.correct
    data, cpu = smooth.data.load(), torch.device("cpu")
    losses = []
    for smoothing in (0.0, 0.3):
        torch.manual_seed(0)
        model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16 * 16, 10))
        optimizer = make_optimizer(model, smooth.budget().optimizer)
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)
        losses.append(train_epoch(model, data.reader("train", prefetch=False), batch_size=32, optimizer=optimizer,
                                  scheduler=scheduler, generator=torch.Generator().manual_seed(0),
                                  recipe=recipe_for(cpu), label_smoothing=smoothing))
    assert losses[0] != losses[1] and min(losses) > 0  # the smoothed targets reach the loss


@pytest.mark.parametrize(("augment", "budget", "message"), [
    ("mixup", "", "data.augment: {'name': 'mixup'} is not accepted: unknown augmentation 'mixup'; accepted: "
                  "crop_flip, none, rrc_flip"),
    ("{name: crop_flip, options: {scale: [0.5, 1]}}", "",
     "unknown option 'scale'; accepted: flip, padding"),
    ("{name: rrc_flip, options: {flip: 2}}", "", "flip=2 is not accepted; use a probability in [0, 1]"),
    ("", ", label_smoothing: 1", "budget.label_smoothing: 1 is not accepted"),
    ("", ", deterministic: maybe", "budget.deterministic: 'maybe' is not accepted"),
])
def test_bad_recipe_options_are_one_line(tmp_path: Path, augment: str, budget: str, message: str) -> None:
    with pytest.raises(SpaceError) as info:
        space(tmp_path, augment, budget)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_the_cpu_trains_in_float32_deterministically_and_settings_come_back() -> None:
    cpu = torch.device("cpu")
    recipe = recipe_for(cpu)
    assert (recipe.autocast, recipe.scaled, recipe.scaler(), recipe.description) == (None, False, None, "float32")
    before = (torch.are_deterministic_algorithms_enabled(), torch.backends.cudnn.benchmark, torch.get_num_threads())
    with kernel_settings(1, cpu, deterministic=False):
        assert torch.are_deterministic_algorithms_enabled() and not torch.backends.cudnn.benchmark
        assert torch.get_num_threads() == 1
    assert (torch.are_deterministic_algorithms_enabled(), torch.backends.cudnn.benchmark,
            torch.get_num_threads()) == before


def test_a_device_copy_holds_the_splits_rows_in_order(tmp_path: Path) -> None:
    """What a GPU gets (here on the CPU): the selected rows of a memory map, in the split's order."""
    import numpy as np

    from octsearch.data.dataset import Split
    from octsearch.trial.recipe import Recipe, device_copy

    images = np.lib.format.open_memmap(tmp_path / "x.npy", "w+", np.uint8, (50, 3, 4, 4))
    images[:] = np.random.default_rng(0).integers(0, 256, images.shape, dtype=np.uint8)
    rows = np.random.default_rng(1).permutation(50)[:37]
    copy = device_copy(Split(images, np.zeros(37, np.int64), rows), torch.device("cpu"), chunk=8)
    assert copy.dtype == torch.uint8 and torch.equal(copy, torch.from_numpy(images[rows]))
    assert Recipe(torch.device("cuda"), torch.float16, True).description == "float16 autocast, scaled gradients"
    assert Recipe(torch.device("cuda"), torch.bfloat16, False).description == "bfloat16 autocast"


@CUDA
def test_cuda_autocasts_to_bf16_where_the_card_has_it_else_fp16_with_a_scaler() -> None:
    recipe = recipe_for(torch.device("cuda"))
    if torch.cuda.is_bf16_supported():
        assert (recipe.autocast, recipe.scaler()) == (torch.bfloat16, None)
    else:
        assert recipe.autocast == torch.float16 and isinstance(recipe.scaler(), torch.amp.GradScaler)
    with recipe.precision():
        y = torch.nn.Linear(8, 8).cuda()(torch.ones(2, 8, device="cuda"))
    assert y.dtype == recipe.autocast


@CUDA
def test_cuda_autotunes_unless_deterministic() -> None:
    cuda = torch.device("cuda")
    with kernel_settings(1, cuda, deterministic=False):
        assert torch.backends.cudnn.benchmark and not torch.are_deterministic_algorithms_enabled()
    with kernel_settings(1, cuda, deterministic=True):
        assert not torch.backends.cudnn.benchmark and torch.backends.cudnn.deterministic
        assert torch.are_deterministic_algorithms_enabled()


@CUDA
def test_cuda_reads_uint8_images_on_the_gpu_and_gives_the_cpu_batches(tmp_path: Path) -> None:
    data = space(tmp_path).data.load()
    gpu = split_reader(data, "val", torch.device("cuda"), torch.channels_last)
    assert gpu.images.device.type == "cuda" and gpu.images.dtype == torch.uint8
    cpu = split_reader(data, "val", torch.device("cpu"), torch.channels_last)
    for (xg, yg), (xc, yc) in zip(gpu.sequential(64), cpu.sequential(64), strict=True):
        assert torch.allclose(xg.cpu(), xc, atol=1e-6) and torch.equal(yg.cpu(), yc)


@CUDA
def test_a_trial_on_cuda_trains_in_mixed_precision_and_validates_there(tmp_path: Path) -> None:
    s = space(tmp_path, "crop_flip", ", deterministic: true")
    a, b = (run_trial(s, s.uniform(0.5), device="cuda") for _ in range(2))
    assert a.device.startswith("cuda") and "autocast" in a.precision
    assert a.correct == b.correct and 0 < a.accuracy <= 1  # deterministic kernels: repeatable
