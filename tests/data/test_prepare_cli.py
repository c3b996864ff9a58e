"""End to end: an image folder -> ``octsearch dataset prepare`` -> a space with ``data: {name:
prepared}`` -> ``octsearch space show`` and a one-epoch ``octsearch trial``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from octsearch.cli.main import main

CLASSES = ("ant", "bee", "cow")
PER_CLASS = 12

SPACE = """\
description: tiny prepared-set space
model: {{name: oct_resnet20, args: {{width_mult: 0.25, input_size: {size}}}}}
data: {{name: prepared, root: {root}, seed: 0, val_fraction: 0.25{options}}}
search:
  per: stage
  grid: [0, 0.25, 0.5]
budget:
  epochs: 1
  batch_size: 8
  optimizer: {{name: sgd, lr: 0.05}}
  schedule: {{name: cosine, warmup: 0.1}}
  seed: 0
  threads: 1
sampler: {{name: random, trials: 2, concurrency: 1}}
"""


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """36 small JPEG and PNG images in 3 classes (and one undecodable file), prepared at 16 px."""
    src = tmp_path_factory.mktemp("images")
    rng = np.random.default_rng(0)
    for c, name in enumerate(CLASSES):
        (src / name).mkdir()
        for i in range(PER_CLASS):
            h, w = int(rng.integers(16, 40)), int(rng.integers(16, 40))
            pixels = np.clip(rng.normal(50 + 80 * c, 30, (h, w, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(pixels).save(src / name / f"{i:02d}.{'jpg' if i % 2 else 'png'}")
    (src / "bee" / "broken.jpg").write_bytes(b"not an image")
    dst = tmp_path_factory.mktemp("prepared") / "set16"
    assert main(["dataset", "prepare", str(src), str(dst), "--size", "16", "--workers", "1"]) == 0
    return dst


def space_file(tmp_path: Path, root: Path, size: int = 16, options: str = "") -> Path:
    path = tmp_path / "space.yaml"
    path.write_text(SPACE.format(size=size, root=root, options=options))
    return path


def test_prepare_is_a_dataset_subcommand(prepared: Path, capsys) -> None:
    with pytest.raises(SystemExit):
        main(["dataset", "--help"])
    assert "prepare" in capsys.readouterr().out
    assert main(["dataset", "prepare", str(prepared.parent), str(prepared), "--size", "16"]) != 0
    capsys.readouterr()  # a different source into the same set: refused


def test_dataset_show_reads_the_prepared_set_and_a_class_subset(prepared: Path, capsys) -> None:
    assert main(["dataset", "show", "prepared", "--root", str(prepared), "--json"]) == 0
    row = json.loads(capsys.readouterr().out)
    assert row["num_classes"] == 3 and row["image_size_px"] == 16 and row["in_chans"] == 3
    assert row["train_images"] + row["val_images"] == 3 * PER_CLASS  # the broken file is skipped
    args = ["dataset", "show", "prepared", "--root", str(prepared), "--json",
            "--option", "classes=2", "--option", "per_class=8"]
    assert main(args) == 0
    row = json.loads(capsys.readouterr().out)
    assert row["class_names"] == ["ant", "bee"] and row["train_images"] + row["val_images"] == 16


def test_space_show_and_a_one_epoch_trial_on_the_prepared_set(prepared: Path, tmp_path: Path,
                                                                capsys) -> None:
    path = space_file(tmp_path, prepared)
    assert main(["space", "show", str(path)]) == 0
    capsys.readouterr()
    assert main(["trial", str(path), "--uniform", "0", "--json"]) == 0
    row = json.loads(capsys.readouterr().out)
    assert 0 <= row["accuracy"] <= 1 and row["n_val"] == 9 and len(row["epoch_accuracies"]) == 1


def test_space_with_a_class_subset_takes_num_classes_from_it(prepared: Path, tmp_path: Path,
                                                             capsys) -> None:
    path = space_file(tmp_path, prepared, options=", options: {classes: 2}")
    assert main(["space", "show", str(path), "--json"]) == 0
    assert '"num_classes": 2' in capsys.readouterr().out


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err, err
    return err


def test_a_space_that_does_not_match_the_prepared_set_is_one_line(prepared: Path, tmp_path: Path,
                                                                  capsys) -> None:
    assert main(["space", "show", str(space_file(tmp_path, prepared, size=32))]) == 2
    assert "resolution 16 px, expected 32 px" in one_error_line(capsys)
    bad = space_file(tmp_path, prepared, options=", options: {classes: 0}")
    assert main(["space", "show", str(bad)]) == 2
    assert "classes=0 is not accepted; use a whole number >= 1" in one_error_line(capsys)
    unfinished = tmp_path / "empty"
    unfinished.mkdir()
    assert main(["space", "show", str(space_file(tmp_path, unfinished))]) == 2
    one_error_line(capsys)
