"""The whole path for generated CIFAR-10, CIFAR-100 and image-folder data: prepare (where it applies),
launch with augmentation on a local Ray, store, pareto, export, rebuild the exported network."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from search_helpers import run_cli

from octsearch.config_file import create_model_from_config
from octsearch.store import open_store

SPACE = """\
description: end-to-end {kind}
model: {{name: oct_resnet20, args: {{width_mult: 0.25}}}}
data: {{name: {name}, root: {root}, seed: 0, image_size: 16, augment: {augment}{extra}}}
search:
  grid: [0, 0.25, 0.5]
  params:
    early: {{slots: ["stage1.*"]}}
    late: {{slots: ["stage2.*", "stage3.*"]}}
budget: {{epochs: 1, batch_size: 32, optimizer: {{name: sgd, lr: 0.05}}, threads: 1, label_smoothing: 0.1}}
sampler: {{name: random, trials: 3, concurrency: 2}}
"""


def pickled(path: Path, obj: object) -> None:
    path.write_bytes(pickle.dumps(obj, protocol=2))


def cifar10_dir(root: Path, rng: np.random.Generator) -> Path:
    root.mkdir()
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        pickled(root / name, {b"data": rng.integers(0, 256, (40, 3072), dtype=np.uint8),
                              b"labels": [i % 10 for i in range(40)], b"batch_label": b"generated"})
    pickled(root / "batches.meta", {b"label_names": [f"c{i}".encode() for i in range(10)], b"num_vis": 3072})
    return root


def cifar100_dir(root: Path, rng: np.random.Generator) -> Path:
    root.mkdir()
    for name, n in (("train", 300), ("test", 100)):
        fine = [i % 100 for i in range(n)]
        pickled(root / name, {b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8), b"fine_labels": fine,
                              b"coarse_labels": [f // 5 for f in fine], b"filenames": [b"x.png"] * n,
                              b"batch_label": b"generated"})
    pickled(root / "meta", {b"fine_label_names": [f"f{i:02d}".encode() for i in range(100)],
                            b"coarse_label_names": [f"c{i:02d}".encode() for i in range(20)]})
    return root


def prepared_folder(root: Path, rng: np.random.Generator) -> Path:
    """An image folder of 4 classes x 60 small JPEG and PNG images, prepared at 16 px by the CLI."""
    src = root / "folder"
    for c in range(4):
        (src / f"class{c}").mkdir(parents=True)
        for i in range(60):
            pixels = rng.integers(0, 256, (12 + i % 5, 14, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(src / f"class{c}" / f"{i:02d}.{'jpg' if i % 2 else 'png'}")
    proc = run_cli("dataset", "prepare", str(src), str(root / "prepared"), "--size", "16", "--workers", "1")
    assert proc.returncode == 0, proc.stderr
    return root / "prepared"


CASES = {  # kind -> (data set, writer, augmentation, extra data keys, classes)
    "cifar10": ("cifar10", cifar10_dir, "{name: crop_flip, options: {padding: 2}}", "", 10),
    "cifar100": ("cifar100", cifar100_dir, "crop_flip", ", options: {split: test}", 100),
    "imagefolder": ("prepared", prepared_folder, "rrc_flip", ", options: {classes: 3, per_class: 50}", 3),
}


@pytest.mark.slow
@pytest.mark.parametrize("kind", list(CASES))
def test_generated_data_through_the_whole_path(tmp_path: Path, kind: str) -> None:
    name, write, augment, extra, classes = CASES[kind]
    root = write(tmp_path / kind, np.random.default_rng(0)) if kind != "imagefolder" else write(tmp_path, np.random.default_rng(0))
    space = tmp_path / f"{kind}.yaml"
    space.write_text(SPACE.format(kind=kind, name=name, root=root, augment=augment, extra=extra))
    db = f"sqlite:///{tmp_path / 'results.db'}"
    launch = run_cli("launch", str(space), "--name", kind, "--db", db, "--results-dir", str(tmp_path / "tune"))
    assert launch.returncode == 0, launch.stderr + launch.stdout
    trials = open_store(db).trials(kind)
    assert len(trials) == 3 and all(t.status == "complete" and 0 <= t.accuracy <= 1 for t in trials)
    pareto = run_cli("pareto", kind, "--db", db, "--format", "json")
    assert pareto.returncode == 0, pareto.stderr
    assert json.loads(pareto.stdout)
    exported = tmp_path / "net.json"
    export = run_cli("export", kind, "--knee", "-o", str(exported), "--db", db)
    assert export.returncode == 0, export.stderr
    model = create_model_from_config(exported).eval()
    with torch.no_grad():
        assert model(torch.zeros(2, 3, 16, 16)).shape == (2, classes)
