"""``prepare_folder`` and ``octsearch dataset prepare`` on generated folders of JPEG and PNG images."""

from __future__ import annotations

import argparse
import os
from collections import namedtuple
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

from octsearch.cli import main as cli_main
from octsearch.cli.dataset_prepare_commands import ProgressLine, add_prepare
from octsearch.data import prepare as prepare_module
from octsearch.data.prepare import RESIZE, decode, prepare_folder
from octsearch.data.prepared import COMPLETE, HEADER, open_prepared
from octsearch.errors import ConfigError, DataError

CLASSES = ("cat", "dog", "emu")
PER_CLASS = 12  # + 2 undecodable files


def make_folder(root: Path, seed: int = 0) -> Path:
    """Three classes of noisy images of mixed sizes, JPEG and PNG, RGB and grey; one file in "dog"
    is not an image and one PNG in "emu" is cut short."""
    rng = np.random.default_rng(seed)
    for c, name in enumerate(CLASSES):
        (root / name / "sub").mkdir(parents=True)
        for i in range(PER_CLASS):
            h, w = int(rng.integers(12, 60)), int(rng.integers(12, 60))
            pixels = np.clip(rng.normal(60 + 70 * c, 40, (h, w, 3)), 0, 255).astype(np.uint8)
            image = Image.fromarray(pixels) if i % 4 else Image.fromarray(pixels[:, :, 0], "L")
            folder = root / name / ("sub" if i == 0 else "")
            image.save(folder / f"{i:02d}.{'jpg' if i % 2 else 'png'}")
    (root / "dog" / "broken.jpg").write_bytes(b"this is not a JPEG")
    whole = (root / "emu" / "02.png").read_bytes()
    (root / "emu" / "cut.png").write_bytes(whole[: len(whole) // 2])
    return root


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return make_folder(tmp_path / "src")


def arrays(path: Path) -> tuple[np.ndarray, np.ndarray]:
    data = open_prepared(path)
    return np.array(data.images), data.labels


def test_prepare_decodes_resizes_and_skips_what_it_cannot_read(folder: Path, tmp_path: Path) -> None:
    report = prepare_folder(folder, tmp_path / "one", 16, workers=1, chunk_size=8)
    total = 3 * PER_CLASS + 2
    assert (report.images, report.skipped, report.header.count) == (total - 2, 2, total)
    assert sorted(f.split(":")[0] for f in report.skipped_files) == ["dog/broken.jpg", "emu/cut.png"]
    assert report.header.class_names == CLASSES and report.header.resize == RESIZE
    data = open_prepared(tmp_path / "one")
    assert data.images.shape == (total, 3, 16, 16) and data.images.dtype == np.uint8
    assert (data.labels == -1).sum() == 2 and np.bincount(data.labels[data.labels >= 0]).tolist() == [12] * 3
    means = [data.images[data.labels == c].mean() for c in range(3)]
    assert means[0] < means[1] < means[2]  # each class kept its own images
    assert data.select().indices.size == total - 2  # skipped slots are never read


def test_a_process_pool_writes_the_same_set(folder: Path, tmp_path: Path) -> None:
    prepare_folder(folder, tmp_path / "one", 16, workers=1, chunk_size=8)
    report = prepare_folder(folder, tmp_path / "two", 16, workers=2, chunk_size=8)
    assert report.images_per_second > 0 and report.chunks_before == 0 and report.workers == 2
    for a, b in zip(arrays(tmp_path / "one"), arrays(tmp_path / "two"), strict=True):
        assert np.array_equal(a, b)
    assert open_prepared(tmp_path / "one").normalisation() == open_prepared(tmp_path / "two").normalisation()


def test_decode_keeps_the_aspect_ratio_and_crops_the_centre(tmp_path: Path) -> None:
    wide = np.zeros((20, 40, 3), np.uint8)
    wide[:, :10, 0] = 255  # red left quarter, green middle half, blue right quarter
    wide[:, 10:30, 1] = 255
    wide[:, 30:, 2] = 255
    for image, name in ((wide, "wide.png"), (wide.transpose(1, 0, 2), "tall.png")):
        Image.fromarray(image).save(tmp_path / name)
        out = decode(tmp_path / name, 10)
        inner = out[:, 1:-1, 1:-1] if name == "tall.png" else out[:, :, 1:-1]
        assert out.shape == (3, 10, 10) and inner[1].min() >= 250 and inner[[0, 2]].max() <= 5
        assert out[1].min() >= 200  # the filter reads a little past the crop at its edges
    reference = ImageOps.fit(Image.open(tmp_path / "wide.png").convert("RGB"), (8, 8), Image.Resampling.BILINEAR)
    assert np.array_equal(decode(tmp_path / "wide.png", 8), np.asarray(reference).transpose(2, 0, 1))
    assert decode(tmp_path / "wide.png", 8, "L").shape == (1, 8, 8)


def test_greyscale_sets(folder: Path, tmp_path: Path) -> None:
    prepare_folder(folder, tmp_path / "grey", 8, workers=1, channels=1)
    data = open_prepared(tmp_path / "grey")
    assert data.images.shape[1:] == (1, 8, 8) and len(data.normalisation()[0]) == 1


class Stop(Exception):
    pass


def stop_after(chunks: int):
    calls = []

    def progress(done: int, total: int) -> None:
        calls.append(done)
        if len(calls) > chunks:  # the first call is the baseline, before any chunk
            raise Stop

    return progress


@pytest.mark.parametrize("workers", [1, 2])
def test_an_interrupted_prepare_continues_where_it_stopped(folder: Path, tmp_path: Path, workers: int) -> None:
    with pytest.raises(Stop):
        prepare_folder(folder, tmp_path / "part", 16, workers=workers, chunk_size=4, on_progress=stop_after(2))
    assert not (tmp_path / "part" / COMPLETE).exists()
    with pytest.raises(ConfigError, match="is incomplete: [0-9]+ of 10 chunks written"):
        open_prepared(tmp_path / "part")
    seen: list[int] = []
    report = prepare_folder(folder, tmp_path / "part", 16, workers=workers, chunk_size=4,
                            on_progress=lambda done, total: seen.append(done))
    assert 2 <= report.chunks_before < 10 and seen[0] == 4 * report.chunks_before  # starts where it stopped
    assert len(seen) == 1 + 10 - report.chunks_before  # the finished chunks were not redone
    prepare_folder(folder, tmp_path / "fresh", 16, workers=1, chunk_size=4)
    for a, b in zip(arrays(tmp_path / "part"), arrays(tmp_path / "fresh"), strict=True):
        assert np.array_equal(a, b)


def test_a_finished_set_is_not_written_again(folder: Path, tmp_path: Path) -> None:
    prepare_folder(folder, tmp_path / "done", 16, workers=1)
    before = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "done").iterdir()}
    report = prepare_folder(folder, tmp_path / "done", 16, workers=1)
    assert report.already_complete and report.images == 3 * PER_CLASS
    assert {p.name: p.stat().st_mtime_ns for p in (tmp_path / "done").iterdir()} == before


def snapshot(path: Path) -> dict[str, int]:
    return {str(p): p.stat().st_mtime_ns for p in path.rglob("*")} if path.exists() else {}


def refused(error: type[Exception], dst: Path, *args: object, **kwargs: object) -> str:
    before = snapshot(dst)
    with pytest.raises(error) as e:
        prepare_folder(*args, **kwargs)  # type: ignore[arg-type]
    assert "\n" not in str(e.value) and snapshot(dst) == before  # nothing written
    return str(e.value)


def test_a_destination_holding_another_set_is_refused(folder: Path, tmp_path: Path) -> None:
    dst = tmp_path / "set"
    prepare_folder(folder, dst, 16, workers=1)
    message = refused(ConfigError, dst, folder, dst, 32, workers=1)
    assert message == (f"{dst / HEADER}: holds a prepared set with image_size 16, expected 32; "
                       "choose another destination or delete it")
    assert "with channels 3, expected 1" in refused(ConfigError, dst, folder, dst, 16, workers=1, channels=1)


def test_a_source_that_changed_since_the_set_was_started(folder: Path, tmp_path: Path) -> None:
    dst = tmp_path / "set"
    with pytest.raises(Stop):
        prepare_folder(folder, dst, 16, workers=1, chunk_size=4, on_progress=stop_after(1))
    Image.new("RGB", (9, 9)).save(folder / "cat" / "new.png")
    assert "count 38, expected 39" in refused(ConfigError, dst, folder, dst, 16, workers=1, chunk_size=4)
    (folder / "cat" / "new.png").rename(folder / "cat" / "00.png.jpg")
    (folder / "cat" / "01.jpg").unlink()
    assert "listing a listing of other files" in refused(ConfigError, dst, folder, dst, 16, workers=1, chunk_size=4)


def test_bad_destinations_sources_and_arguments(folder: Path, tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    assert "is a file" in refused(ConfigError, tmp_path / "file", folder, tmp_path / "file", 16)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    assert "non-empty directory without header.json" in refused(ConfigError, tmp_path / "other", folder,
                                                                tmp_path / "other", 16)
    dst = tmp_path / "dst"
    assert "directory" in refused(DataError, dst, tmp_path / "missing", dst, 16)
    (tmp_path / "one" / "only").mkdir(parents=True)
    assert "only one class sub-folder" in refused(DataError, dst, tmp_path / "one", dst, 16)
    for kwargs, text in [({"size": 0}, "size=0 is not accepted"), ({"size": 5000}, "from 1 to 4096 px"),
                         ({"size": True}, "size=True"), ({"size": 16, "workers": 0}, "workers=0"),
                         ({"size": 16, "channels": 2}, "channels=2"), ({"size": 16, "chunk_size": 0}, "chunk_size=0")]:
        assert text in refused(ConfigError, dst, folder, dst, **kwargs)
    assert not dst.exists()


def test_too_little_disk_is_said_before_writing(folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(prepare_module.shutil, "disk_usage", lambda p: usage(10**6, 10**6 - 1000, 1000))
    dst = tmp_path / "dst"
    message = refused(ConfigError, dst, folder, dst, 64, workers=1)
    assert message.startswith(f"{dst}: the prepared set needs 0.00152 GB (38 images of 3x64x64 uint8), "
                              f"more than the 1e-06 GB free on {tmp_path}")
    assert not dst.exists()


# ------------------------------------------------------------------ the command line
@pytest.fixture
def run(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    """``octsearch ...`` through the real entry point, with ``dataset prepare`` added as phase 2 will."""
    original = cli_main.build_parser

    def build() -> argparse.ArgumentParser:
        parser = original()
        dataset = parser._subparsers._group_actions[0].choices["dataset"]  # type: ignore[union-attr]
        sub = dataset._subparsers._group_actions[0]  # type: ignore[union-attr]
        if "prepare" not in sub.choices:
            add_prepare(sub)
        return parser

    monkeypatch.setattr(cli_main, "build_parser", build)

    def call(argv: list[str]) -> tuple[int, str, str]:
        code = cli_main.main(argv)
        out, err = capsys.readouterr()
        return code, out, err

    return call


def test_cli_prepares_and_reports(run, folder: Path, tmp_path: Path) -> None:
    dst = tmp_path / "set"
    code, out, err = run(["dataset", "prepare", str(folder), str(dst), "--size", "16", "--workers", "2",
                          "--chunk-size", "4"])
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith(f"{dst}: 36 images, 3 classes, 3 x 16 x 16 uint8 (0.0 MB) from image folder")
    assert "images/s with 2 worker process(es)" in lines[1] and "centre square crop" in lines[1]
    assert lines[2].startswith("skipped 2 image(s) that could not be decoded") and "dog/broken.jpg" in lines[2]
    progress = err.splitlines()  # not a terminal: one line per 10%
    assert progress[-1].startswith("preparing: 38 / 38 images (100%)") and 5 <= len(progress) <= 11
    code, out, _ = run(["dataset", "prepare", str(folder), str(dst), "--size", "16", "--chunk-size", "4"])
    assert code == 0 and out.splitlines()[1] == "already complete: nothing to do"


@pytest.mark.parametrize(("argv", "message"), [
    (["--size", "0"], "size=0 is not accepted"),
    (["--size", "16", "--workers", "0"], "workers=0 is not accepted"),
    (["--size", "16", "--channels", "4"], "channels=4 is not accepted"),
])
def test_cli_bad_input_is_one_line_and_exit_2(run, folder: Path, tmp_path: Path, argv: list[str], message: str) -> None:
    code, out, err = run(["dataset", "prepare", str(folder), str(tmp_path / "x"), *argv])
    assert code == 2 and out == "" and err.count("\n") == 1 and message in err
    assert err.startswith("octsearch: error: ") and not (tmp_path / "x").exists()


def test_cli_refuses_a_mismatching_destination(run, folder: Path, tmp_path: Path) -> None:
    dst = tmp_path / "set"
    assert run(["dataset", "prepare", str(folder), str(dst), "--size", "16"])[0] == 0
    before = snapshot(dst)
    code, _, err = run(["dataset", "prepare", str(folder), str(dst), "--size", "32"])
    assert code == 2 and err.count("\n") == 1 and "image_size 16, expected 32" in err and snapshot(dst) == before
    with pytest.raises(SystemExit) as e:
        run(["dataset", "prepare", str(folder), str(dst)])  # --size is required: argparse's exit 2
    assert e.value.code == 2


class Terminal:
    def __init__(self) -> None:
        self.text = ""

    def isatty(self) -> bool:
        return True

    def write(self, text: str) -> None:
        self.text += text

    def flush(self) -> None:
        pass


def test_progress_line_on_a_terminal_is_rewritten_in_place() -> None:
    term = Terminal()
    line = ProgressLine(term)  # type: ignore[arg-type]
    for done in (0, 50, 100):
        line(done, 100)
    line.close()
    assert term.text.startswith("\rpreparing: 0 / 100 images (0%)")
    assert term.text.endswith("\rpreparing: 100 / 100 images (100%), " + term.text.split("(100%), ")[1])
    assert term.text.endswith("\n") and term.text.count("\n") == 1


def test_default_workers_is_every_cpu(folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    used: list[int] = []
    monkeypatch.setattr(prepare_module, "_run", lambda tasks, writer, workers, progress: used.append(workers)
                        or [writer.record(prepare_module.run_chunk(t)) for t in tasks])
    prepare_folder(folder, tmp_path / "set", 16)
    assert used == [len(os.sched_getaffinity(0))]
