"""One copy of a data set per node: written once, atomically, mapped read-only by every process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from octsearch.data import load_dataset
from octsearch.data.shared import (
    CACHE_ENV,
    cache_dir,
    cache_key,
    open_shared,
    shared_dataset,
    source_fingerprint,
)
from octsearch.errors import DataError
from octsearch.spaces import load_space

SPACE = """\
model: {{name: oct_resnet20, args: {{width_mult: 0.25}}}}
data: {{name: {name}, seed: 0, val_fraction: 0.25, limit: 200{root}}}
search: {{per: stage, grid: [0, 0.25, 0.5]}}
"""


def space_file(folder: Path, name: str = "mnist", root: str = "") -> Path:
    path = folder / "s.yaml"
    path.write_text(SPACE.format(name=name, root=f", root: {root}" if root else ""))
    return path


def test_the_copy_equals_the_loaded_data_set_and_is_a_read_only_memory_map(tmp_path: Path) -> None:
    loaded = load_dataset("mnist", limit=200, val_fraction=0.25)
    shared = shared_dataset("k", lambda: loaded, tmp_path)
    assert isinstance(shared.train.images, np.memmap) and not shared.train.images.flags.writeable
    assert shared.shared == str(tmp_path / "k") and loaded.shared is None
    assert torch.equal(shared.train_x, loaded.train_x) and torch.equal(shared.val_y, loaded.val_y)
    assert (shared.normalisation, shared.class_names, shared.max_value) == (
        loaded.normalisation, loaded.class_names, loaded.max_value)


def test_a_second_open_reads_the_copy_without_loading(tmp_path: Path) -> None:
    calls = []
    first = shared_dataset("k", lambda: calls.append(1) or load_dataset("digits", limit=100), tmp_path)

    def must_not_load():
        raise AssertionError("loaded again")

    again = shared_dataset("k", must_not_load, tmp_path)
    assert calls == [1] and torch.equal(again.train_x, first.train_x)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["k", "k.lock"]  # no temporary left


def test_a_failed_load_leaves_nothing_behind(tmp_path: Path) -> None:
    def fail():
        raise DataError("no files")

    with pytest.raises(DataError, match="no files"):
        shared_dataset("k", fail, tmp_path)
    assert not (tmp_path / "k").exists()


def test_a_damaged_copy_is_one_line(tmp_path: Path) -> None:
    shared_dataset("k", lambda: load_dataset("digits", limit=100), tmp_path)
    (tmp_path / "k" / "train_labels.npy").write_bytes(b"not an array")
    with pytest.raises(DataError) as info:
        open_shared(tmp_path / "k")
    assert "the node's copy of the data set is damaged" in str(info.value) and "\n" not in str(info.value)


def test_a_disk_without_room_is_one_line_with_the_figures_and_nothing_is_written(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from octsearch.data import shared

    monkeypatch.setattr(shared, "free_bytes", lambda directory: 10**6)
    with pytest.raises(DataError) as info:
        shared_dataset("k", lambda: load_dataset("mnist", limit=200), tmp_path)
    assert str(info.value) == (f"{tmp_path}: the node's copy of mnist needs 1.2 MB but the disk has 1.0 MB free; "
                               f"accepted: free space there, or set {CACHE_ENV} to a directory with room")
    assert [p.name for p in tmp_path.iterdir()] == ["k.lock"]


def test_the_key_follows_the_values_and_the_source_files(tmp_path: Path) -> None:
    (tmp_path / "a").write_bytes(b"123")
    before = source_fingerprint(str(tmp_path))
    assert cache_key({"seed": 0}) != cache_key({"seed": 1}) and cache_key({"seed": 0}) == cache_key({"seed": 0})
    (tmp_path / "a").write_bytes(b"1234")
    assert source_fingerprint(str(tmp_path)) != before and source_fingerprint(None) == []


def test_the_cache_directory_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(CACHE_ENV, str(tmp_path))
    assert cache_dir() == tmp_path
    monkeypatch.delenv(CACHE_ENV)
    assert cache_dir().parts[-2:] == ("octsearch", "data")


_CHILD = """
import json, sys
from octsearch.spaces import load_space
d = load_space(sys.argv[1]).data.load()
print(json.dumps([d.shared, float(d.train_x.sum())]))
"""


def test_two_processes_at_once_share_one_copy_written_once(tmp_path: Path) -> None:
    space = space_file(tmp_path)
    env = dict(os.environ, **{CACHE_ENV: str(tmp_path / "cache")})
    procs = [subprocess.Popen([sys.executable, "-c", _CHILD, str(space)], env=env, stdout=subprocess.PIPE, text=True)
             for _ in range(2)]
    outs = [json.loads(p.communicate(timeout=120)[0]) for p in procs]
    assert outs[0] == outs[1] and Path(outs[0][0]).parent == tmp_path / "cache"
    copies = [p for p in (tmp_path / "cache").iterdir() if p.is_dir()]
    assert len(copies) == 1  # one copy, no temporary directory left


def test_a_space_maps_the_nodes_copy_and_a_prepared_set_is_read_in_place(tmp_path: Path) -> None:
    from octsearch.data.prepare import prepare_arrays

    data = load_space(space_file(tmp_path)).data.load()
    assert isinstance(data.train.images, np.memmap) and Path(data.shared).parent == cache_dir()
    rng = np.random.default_rng(0)
    prepare_arrays(rng.integers(0, 256, (60, 3, 16, 16), dtype=np.uint8), np.arange(60) % 3, ("a", "b", "c"),
                   tmp_path / "prep", source="test")
    prepared = load_space(space_file(tmp_path, "prepared", str(tmp_path / "prep"))).data.load()
    assert prepared.shared == str(tmp_path / "prep") and prepared.train.rows is not None
    assert isinstance(prepared.train.images, np.memmap) and not any(
        p.name.startswith(".") for p in cache_dir().iterdir())
