"""The prepared-set format: written from arrays, read back through a memory map, every check."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from octsearch.data.prepare import chunk_sums, prepare_arrays, publish_arrays
from octsearch.data.prepared import (
    COMPLETE,
    HEADER,
    IMAGES,
    LABELS,
    LOG,
    VERSION,
    ChunkRecord,
    Expected,
    Header,
    PreparedWriter,
    open_for_writing,
    open_prepared,
)
from octsearch.errors import ConfigError

CLASSES = ("zebra", "ant", "moth", "bee")  # not sorted: "first K" goes by sorted name
PER_CLASS = 30


def arrays(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(len(CLASSES)), PER_CLASS)
    images = rng.integers(0, 256, (len(labels), 3, 8, 8), dtype=np.uint8)
    return images, labels


@pytest.fixture
def prepared(tmp_path: Path) -> Path:
    images, labels = arrays()
    prepare_arrays(images, labels, CLASSES, tmp_path / "set", source="test arrays", chunk_size=16)
    return tmp_path / "set"


def config_error(path: Path, expect: Expected | None = None) -> str:
    with pytest.raises(ConfigError) as e:
        open_prepared(path, expect)
    assert "\n" not in str(e.value)
    return str(e.value)


def test_round_trip_through_a_read_only_memory_map(prepared: Path) -> None:
    images, labels = arrays()
    data = open_prepared(prepared, Expected(image_size=8, channels=3, num_classes=4, num_images=120))
    assert isinstance(data.images, np.memmap) and not data.images.flags.writeable
    assert np.array_equal(data.images, images) and np.array_equal(data.labels, labels)
    assert (data.num_images, data.skipped, data.class_names) == (120, 0, CLASSES)
    assert data.nbytes == images.nbytes and data.header.chunks == 8
    assert (prepared / HEADER).is_file() and (prepared / COMPLETE).is_file()
    assert json.loads((prepared / HEADER).read_text())["version"] == VERSION


def test_normalisation_is_exact_from_the_stored_sums(prepared: Path) -> None:
    images, labels = arrays()
    data = open_prepared(prepared)
    mean, std = data.normalisation()
    pixels = images.astype(np.float64) / 255
    np.testing.assert_allclose(mean, pixels.mean(axis=(0, 2, 3)), rtol=1e-12)
    np.testing.assert_allclose(std, pixels.std(axis=(0, 2, 3)), rtol=1e-9)
    sub_mean, _ = data.normalisation([1, 3])
    np.testing.assert_allclose(sub_mean, pixels[np.isin(labels, [1, 3])].mean(axis=(0, 2, 3)), rtol=1e-12)


def test_select_first_classes_by_sorted_name_without_copying(prepared: Path) -> None:
    data = open_prepared(prepared)
    sel = data.select(2)  # sorted names: ant (1), bee (3)
    assert sel.classes == (1, 3) and sel.class_names == ("ant", "bee")
    assert sel.indices.tolist() == list(range(30, 60)) + list(range(90, 120))
    assert sel.labels.tolist() == [0] * 30 + [1] * 30  # renumbered 0..K-1
    assert "2 of 4 classes (first by sorted name)" in sel.description
    assert sel.indices.dtype == np.int64 and isinstance(data.images, np.memmap)


def test_select_seeded_classes_and_per_class_limit(prepared: Path) -> None:
    data = open_prepared(prepared)
    a = data.select(2, per_class=5, pick="seeded", seed=1)
    b = data.select(2, per_class=5, pick="seeded", seed=1)
    assert np.array_equal(a.indices, b.indices) and a.classes == b.classes
    assert len(a.indices) == 10 and np.all(np.diff(a.indices) > 0)
    assert np.bincount(a.labels).tolist() == [5, 5]
    others = {tuple(data.select(2, per_class=5, pick="seeded", seed=s).indices) for s in range(2, 8)}
    assert len(others | {tuple(a.indices)}) > 1  # another seed, another choice
    everything = data.select(per_class=100)
    assert len(everything.indices) == 120 and everything.classes == (0, 1, 2, 3)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"classes": 5}, "classes=5 but the set has 4 classes; accepted: 1..4"),
    ({"classes": 0}, "classes=0 but the set has 4 classes"),
    ({"classes": 2, "pick": "random"}, "class pick 'random' is not accepted; choose one of: first, seeded"),
    ({"per_class": 0}, "per_class=0 is not accepted; use an integer >= 1 or None"),
])
def test_select_refuses_bad_subsets(prepared: Path, kwargs: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        open_prepared(prepared).select(**kwargs)


@pytest.mark.parametrize(("expect", "message"), [
    (Expected(image_size=64), "resolution 8 px, expected 64 px"),
    (Expected(channels=1), "channels 3, expected 1"),
    (Expected(num_classes=100), "classes 4, expected 100"),
    (Expected(num_images=50_000), "decoded images 120, expected 50,000"),
])
def test_a_set_that_does_not_match_its_space(prepared: Path, expect: Expected, message: str) -> None:
    assert config_error(prepared, expect) == f"{prepared}: {message}; prepare a set that matches or change the space"


def test_truncated_images_file(prepared: Path) -> None:
    file = prepared / IMAGES
    size = file.stat().st_size
    with file.open("r+b") as f:
        f.truncate(size - 100)
    assert config_error(prepared) == (
        f"{file} is truncated: {size - 100:,} bytes, expected {size:,}; prepare the set again")


def test_truncated_labels_file(prepared: Path) -> None:
    file = prepared / LABELS
    file.write_bytes(file.read_bytes()[:200])
    assert f"{file} is truncated" in config_error(prepared)


def test_other_format_version(prepared: Path) -> None:
    raw = json.loads((prepared / HEADER).read_text())
    (prepared / HEADER).write_text(json.dumps(dict(raw, version=VERSION + 1)))
    assert config_error(prepared) == (
        f"{prepared / HEADER}: format version {VERSION + 1}, expected {VERSION}; "
        "prepare the set again with this octsearch")


@pytest.mark.parametrize(("text", "message"), [
    ("{not json", "is not a prepared-set header (Expecting property name"),
    ('{"format": "something-else"}', "format 'something-else', expected 'octsearch-prepared'"),
    ('{"format": "octsearch-prepared", "version": 1}', "is not a prepared-set header (missing 'image_size')"),
])
def test_broken_header(prepared: Path, text: str, message: str) -> None:
    (prepared / HEADER).write_text(text)
    assert message in config_error(prepared)


def test_not_a_prepared_set_and_incomplete(tmp_path: Path, prepared: Path) -> None:
    assert config_error(tmp_path / "nope").startswith(f"{tmp_path / 'nope'} is not a prepared data set")
    assert "octsearch dataset prepare SRC DST --size S" in config_error(tmp_path)
    (prepared / COMPLETE).unlink()
    lines = (prepared / LOG).read_text().splitlines()
    (prepared / LOG).write_text("\n".join(lines[:3]) + "\n")
    assert config_error(prepared) == (
        f"{prepared} is incomplete: 3 of 8 chunks written; rerun `octsearch dataset prepare` "
        "with the same arguments to finish it")


def test_other_shape_labels_and_marker(prepared: Path) -> None:
    np.save(prepared / LABELS, np.full(120, 7, dtype=np.int64))
    assert "has labels outside -1..3" in config_error(prepared)
    np.save(prepared / LABELS, np.zeros(119, dtype=np.int64))
    assert "holds int64 (119,), expected int64 (120,)" in config_error(prepared)
    np.save(prepared / LABELS, np.zeros(120, dtype=np.int64))
    (prepared / COMPLETE).write_text("[]")
    assert "is not a completion marker" in config_error(prepared)


def test_writer_resumes_only_the_pending_chunks(tmp_path: Path) -> None:
    images, labels = arrays()
    header = Header(8, 3, 120, 50, CLASSES, "test", "none", "abc")
    writer = PreparedWriter.open(tmp_path / "w", header, labels)
    assert writer.pending() == [0, 1, 2]
    target = open_for_writing(writer.images_path)
    target[0:50] = images[0:50]
    target.flush()
    writer.record(ChunkRecord(0, ((3, "x.png: broken"),), chunk_sums(images[:50], labels[:50])))
    with (tmp_path / "w" / LOG).open("a") as f:
        f.write('{"chunk": 1, "skipp')  # a line cut short by a kill: chunk 1 is not done
    again = PreparedWriter.open(tmp_path / "w", header, labels)
    assert again.pending() == [1, 2]
    assert np.load(tmp_path / "w" / LABELS)[3] == -1
    with pytest.raises(ConfigError, match=r"holds a prepared set with image_size 8, expected 16"):
        PreparedWriter.open(tmp_path / "w", Header(16, 3, 120, 50, CLASSES, "test", "none", "abc"), labels)
    with pytest.raises(ConfigError, match=r"with listing a listing of other files, expected this source's files"):
        PreparedWriter.open(tmp_path / "w", Header(8, 3, 120, 50, CLASSES, "test", "none", "xyz"), labels)


def test_prepare_arrays_twice_is_already_complete(prepared: Path) -> None:
    images, labels = arrays()
    report = prepare_arrays(images, labels, CLASSES, prepared, source="test arrays", chunk_size=16)
    assert report.already_complete and report.images == 120


def test_resume_refusal_names_the_differing_class(tmp_path: Path) -> None:
    _, labels = arrays()
    PreparedWriter.open(tmp_path / "w", Header(8, 3, 120, 50, CLASSES, "t", "none", "abc"), labels)
    other = ("zebra", "ant", "wasp", "bee")
    with pytest.raises(ConfigError, match=r"class_names 'moth' at index 2, expected 'wasp'"):
        PreparedWriter.open(tmp_path / "w", Header(8, 3, 120, 50, other, "t", "none", "abc"), labels)
    with pytest.raises(ConfigError, match=r"class_names of 4 classes, expected 3 classes"):
        PreparedWriter.open(tmp_path / "w", Header(8, 3, 120, 50, other[:3], "t", "none", "abc"), labels)


def _publish(args: tuple[str, int]) -> tuple[int, bool]:
    dst, seed = args
    images, labels = arrays()
    data = publish_arrays(images, labels, CLASSES, dst, source="test arrays")
    return data.num_images, bool(np.array_equal(data.images, images))


def test_publish_writes_once_however_many_processes_ask(tmp_path: Path) -> None:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    dst = str(tmp_path / "cache" / "set")
    (tmp_path / "cache").mkdir()
    with ProcessPoolExecutor(4, mp_context=multiprocessing.get_context("fork")) as pool:
        results = list(pool.map(_publish, [(dst, i) for i in range(8)]))
    assert results == [(120, True)] * 8
    assert [p.name for p in (tmp_path / "cache").iterdir()] == ["set"]  # no private copy left
    before = (tmp_path / "cache" / "set" / IMAGES).stat().st_mtime_ns
    assert _publish((dst, 0)) == (120, True)  # a complete set is opened, not written again
    assert (tmp_path / "cache" / "set" / IMAGES).stat().st_mtime_ns == before
