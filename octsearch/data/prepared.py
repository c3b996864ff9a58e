"""The prepared-set format: uint8 images at one resolution on disk, read through a memory map.

A prepared set is a directory (format version :data:`VERSION`)::

    header.json     what the set is: image_size, channels, count, chunk_size, class names, source,
                    how images were resized, a hash of the source listing, the format and version
    images.npy      uint8 (count, channels, image_size, image_size), written in place chunk by chunk
    labels.npy      int64 (count,): the class index, -1 for a slot whose image could not be decoded
    chunks.jsonl    one JSON line per finished chunk (its skipped images and pixel sums)
    complete.json   the completion marker: image and skip counts, per-class pixel sums

Writing is resumable: a chunk is finished once its line is in ``chunks.jsonl`` (images and labels
flushed before); a rerun only lists the others. :func:`open_prepared` maps the images read-only,
never loads them whole, checks every file against the header (truncation, version) and the header
against what the caller expects. Exact integer pixel sums per class and channel give the
normalisation of any class subset without reading a pixel.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from octsearch.data.select import Selection, select_rows
from octsearch.errors import ConfigError

FORMAT = "octsearch-prepared"
VERSION = 1
HEADER, IMAGES, LABELS, LOG, COMPLETE = (
    "header.json", "images.npy", "labels.npy", "chunks.jsonl", "complete.json")
_MAKE = "make one with `octsearch dataset prepare SRC DST --size S`"

# class index -> (per-channel pixel sums, per-channel sums of squares, pixels per channel)
Sums = dict[int, tuple[list[int], list[int], int]]


@dataclass(frozen=True)
class Header:
    """What a prepared set holds; two runs that write the same set have equal headers."""

    image_size: int
    channels: int
    count: int
    chunk_size: int
    class_names: tuple[str, ...]
    source: str
    resize: str
    listing: str  # sha256 of the source listing (files and labels), the identity of the source

    @property
    def chunks(self) -> int:
        return math.ceil(self.count / self.chunk_size)

    def chunk_range(self, chunk: int) -> tuple[int, int]:
        start = chunk * self.chunk_size
        return start, min(self.count, start + self.chunk_size)

    @property
    def image_shape(self) -> tuple[int, int, int, int]:
        return (self.count, self.channels, self.image_size, self.image_size)

    def to_json(self) -> str:
        body = {"format": FORMAT, "version": VERSION, **asdict(self)}
        return json.dumps(dict(body, class_names=list(self.class_names)), indent=1)


@dataclass(frozen=True)
class ChunkRecord:
    """A finished chunk: the images it could not decode (index, "file: reason") and its pixel sums."""

    chunk: int
    skipped: tuple[tuple[int, str], ...] = ()
    sums: Sums = field(default_factory=dict)

    def to_line(self) -> str:
        sums = {str(k): [list(s), list(q), n] for k, (s, q, n) in self.sums.items()}
        return json.dumps({"chunk": self.chunk, "skipped": [list(s) for s in self.skipped], "sums": sums})


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


class PreparedWriter:
    """Writes a prepared set. Lifecycle: :meth:`open` (create, or resume a set with the same
    header) -> :meth:`pending` chunks -> images written into :attr:`images_path` (by this process
    or by workers, see :func:`open_for_writing`; pixel sums from
    :func:`octsearch.data.prepare.chunk_sums`) and :meth:`record` per chunk -> :meth:`finish`."""

    def __init__(self, path: Path, header: Header, labels: np.ndarray) -> None:
        self.path, self.header, self._labels = path, header, labels
        self.images_path = path / IMAGES
        self._label_map = np.load(path / LABELS, mmap_mode="r+")

    @classmethod
    def open(cls, path: Path, header: Header, labels: np.ndarray) -> PreparedWriter:
        """Create ``path`` (a new or empty directory) or resume it; a different set there is refused."""
        if (path / HEADER).is_file():
            check_same_header(path, header)
        else:
            path.mkdir(parents=True, exist_ok=True)
            _write_atomic(path / HEADER, header.to_json())
        if not _arrays_fit(path, header):  # new, or cut short while being created: start over
            (path / LOG).unlink(missing_ok=True)
            np.lib.format.open_memmap(path / IMAGES, "w+", np.uint8, header.image_shape).flush()
            np.save(path / LABELS, np.asarray(labels, dtype=np.int64))
        return cls(path, header, np.asarray(labels, dtype=np.int64))

    def pending(self) -> list[int]:
        done = read_log(self.path, self.header)
        return [c for c in range(self.header.chunks) if c not in done]

    def record(self, record: ChunkRecord) -> None:
        """Mark a chunk finished (its images must be flushed already): labels, then the log line."""
        start, end = self.header.chunk_range(record.chunk)
        self._label_map[start:end] = self._labels[start:end]
        for index, _ in record.skipped:
            self._label_map[index] = -1
        self._label_map.flush()
        with (self.path / LOG).open("a") as f:
            f.write(record.to_line() + "\n")
            f.flush()
            os.fsync(f.fileno())

    def finish(self) -> dict[str, Any]:
        """Write the completion marker from the log; returns its content."""
        done = read_log(self.path, self.header)
        if len(done) != self.header.chunks:
            raise RuntimeError(f"{self.path}: {self.header.chunks - len(done)} chunks not written yet")
        skipped = [s for c in sorted(done) for s in done[c].skipped]
        marker = {"images": self.header.count - len(skipped), "skipped": len(skipped),
                  "skipped_files": [text for _, text in skipped[:20]],
                  "class_sums": _merge_sums(r.sums for r in done.values())}
        _write_atomic(self.path / COMPLETE, json.dumps(marker))
        return marker


def _merge_sums(parts: Iterable[Sums]) -> dict[str, list[Any]]:
    total: dict[int, list[Any]] = {}
    for part in parts:
        for cls, (s, q, n) in part.items():
            old = total.get(cls, [[0] * len(s), [0] * len(q), 0])
            total[cls] = [[a + b for a, b in zip(old[0], s, strict=True)],
                          [a + b for a, b in zip(old[1], q, strict=True)], old[2] + n]
    return {str(k): total[k] for k in sorted(total)}


_WRITABLE: dict[tuple[str, int, int], np.ndarray] = {}


def open_for_writing(images_path: Path) -> np.ndarray:
    """The images file mapped read-write (one mapping per process and file, reused; a file
    replaced at the same path gets a new one)."""
    stat = images_path.stat()
    key = (str(images_path), stat.st_dev, stat.st_ino)
    if key not in _WRITABLE:
        _WRITABLE[key] = np.load(images_path, mmap_mode="r+")
    return _WRITABLE[key]


def read_log(path: Path, header: Header) -> dict[int, ChunkRecord]:
    """Finished chunks by index; a line cut short by a kill (or otherwise unreadable) is ignored."""
    done: dict[int, ChunkRecord] = {}
    lines = (path / LOG).read_text().splitlines() if (path / LOG).is_file() else []
    for line in lines:
        try:
            raw = json.loads(line)
            record = ChunkRecord(int(raw["chunk"]), tuple((int(i), str(t)) for i, t in raw["skipped"]),
                                 {int(k): (v[0], v[1], int(v[2])) for k, v in raw["sums"].items()})
        except (ValueError, KeyError, TypeError, IndexError):
            continue
        if 0 <= record.chunk < header.chunks:
            done[record.chunk] = record
    return done


def read_header(path: Path) -> Header:
    """The header of the set at ``path``: format and version checked, one-line ConfigError else."""
    file = path / HEADER
    if not path.is_dir() or not file.is_file():
        raise ConfigError(f"{path} is not a prepared data set (no {HEADER}); {_MAKE}")
    try:
        raw = json.loads(file.read_text())
        if raw.get("format") != FORMAT:
            raise ValueError(f"format {raw.get('format')!r}, expected {FORMAT!r}")
    except (OSError, ValueError, AttributeError) as e:
        raise ConfigError(f"{file} is not a prepared-set header ({str(e).splitlines()[0]}); {_MAKE}") from e
    if raw.get("version") != VERSION:
        raise ConfigError(f"{file}: format version {raw.get('version')!r}, expected {VERSION}; "
                          "prepare the set again with this octsearch")
    try:
        fields = {k: raw[k] for k in Header.__dataclass_fields__}
        header = Header(**dict(fields, class_names=tuple(fields["class_names"])))
    except (KeyError, TypeError) as e:
        raise ConfigError(f"{file} is not a prepared-set header (missing {e}); {_MAKE}") from e
    return header


def check_same_header(path: Path, want: Header) -> None:
    """Refuse to resume ``path`` if its header differs from ``want`` (names the first field); the
    source's description may differ (a folder moved or named by another path: same listing)."""
    found = read_header(path)
    for name in [n for n in Header.__dataclass_fields__ if n != "source"]:
        have, need = getattr(found, name), getattr(want, name)
        if have != need:
            shown = _shown(name, have, need)
            raise ConfigError(f"{path / HEADER}: holds a prepared set with {name} {shown[0]}, expected "
                              f"{shown[1]}; choose another destination or delete it")


def _shown(name: str, have: Any, need: Any) -> tuple[str, str]:
    if name == "listing":
        return "a listing of other files", "this source's files"
    if name == "class_names" and len(have) != len(need):
        return f"of {len(have)} classes", f"{len(need)} classes"
    if name == "class_names":
        i = next(i for i, (a, b) in enumerate(zip(have, need, strict=True)) if a != b)
        return f"{have[i]!r} at index {i}", repr(need[i])
    return repr(have), repr(need)


def _npy_layout(file: Path) -> tuple[tuple[int, ...], np.dtype, int]:
    """(shape, dtype, data offset) of an .npy file, read from its header."""
    with file.open("rb") as f:
        major, _ = np.lib.format.read_magic(f)
        read = np.lib.format.read_array_header_1_0 if major == 1 else np.lib.format.read_array_header_2_0
        shape, _, dtype = read(f)
        return tuple(shape), dtype, f.tell()


def _arrays_fit(path: Path, header: Header) -> bool:
    try:
        _check_array(path / IMAGES, header.image_shape, np.dtype(np.uint8))
        _check_array(path / LABELS, (header.count,), np.dtype(np.int64))
    except ConfigError:
        return False
    return True


def _check_array(file: Path, shape: tuple[int, ...], dtype: np.dtype) -> None:
    if not file.is_file():
        raise ConfigError(f"{file} is missing; expected {dtype} {shape}; prepare the set again")
    try:
        found_shape, found_dtype, offset = _npy_layout(file)
    except (OSError, ValueError) as e:
        raise ConfigError(f"{file} is not an .npy array ({str(e).splitlines()[0]}); prepare the set again") from e
    if found_shape != shape or found_dtype != dtype:
        raise ConfigError(f"{file} holds {found_dtype} {found_shape}, expected {dtype} {shape} "
                          f"(from {HEADER}); prepare the set again")
    need, size = offset + math.prod(shape) * dtype.itemsize, file.stat().st_size
    if size < need:
        raise ConfigError(f"{file} is truncated: {size:,} bytes, expected {need:,}; prepare the set again")


@dataclass(frozen=True)
class Expected:
    """What the caller (a space) needs of a prepared set; None: anything."""

    image_size: int | None = None  # px
    channels: int | None = None
    num_classes: int | None = None  # classes in the file (a subset is chosen with select)
    num_images: int | None = None  # decoded images in the file


@dataclass(frozen=True, eq=False)
class PreparedSet:
    """A complete, checked prepared set. ``images`` is a read-only memory map (never loaded
    whole); ``labels`` is -1 where an image could not be decoded."""

    path: Path
    header: Header
    images: np.ndarray = field(repr=False)
    labels: np.ndarray = field(repr=False)
    num_images: int
    skipped: int
    class_sums: dict[int, tuple[list[int], list[int], int]] = field(repr=False)

    @property
    def class_names(self) -> tuple[str, ...]:
        return self.header.class_names

    @property
    def nbytes(self) -> int:
        """Bytes of the uint8 images (the page cache holds at most this, once per machine)."""
        return int(self.images.nbytes)

    def select(self, classes: int | None = None, per_class: int | None = None, *,
               pick: str = "first", seed: int = 0) -> Selection:
        """Images of ``classes`` classes (``pick="first"``: the first by sorted name; ``"seeded"``:
        a seeded choice), at most ``per_class`` of each (a seeded choice, ``seed``); undecoded
        slots (label -1) are never chosen."""
        return select_rows(self.labels, self.class_names, classes, per_class, pick=pick, seed=seed,
                           where=str(self.path))

    def normalisation(self, classes: Sequence[int] | None = None) -> tuple[tuple[float, ...], tuple[float, ...]]:
        """Per-channel mean and std of the pixels (scaled to [0, 1]) of ``classes`` (default all),
        exact, from the sums kept at prepare time."""
        chosen = range(len(self.class_names)) if classes is None else classes
        c = self.header.channels
        rows = [[*s, *q, n] for s, q, n in (self.class_sums[k] for k in chosen if k in self.class_sums)]
        total = np.array(rows, dtype=np.float64).reshape(-1, 2 * c + 1).sum(axis=0)
        s, q, n = total[:c], total[c:2 * c], total[-1]
        mean = s / max(n, 1) / 255.0
        std = np.sqrt(np.maximum(q / max(n, 1) / 255.0**2 - mean**2, 0.0))
        std = np.where(std > 1e-6, std, 1.0)
        return tuple(float(m) for m in mean), tuple(float(v) for v in std)


def open_prepared(path: str | os.PathLike[str], expect: Expected | None = None) -> PreparedSet:
    """Open a complete prepared set read-only, checked; a one-line ConfigError names what is wrong."""
    root = Path(path).expanduser()
    header = read_header(root)
    if not (root / COMPLETE).is_file():
        done = len(read_log(root, header))
        raise ConfigError(f"{root} is incomplete: {done} of {header.chunks} chunks written; rerun "
                          "`octsearch dataset prepare` with the same arguments to finish it")
    _check_array(root / IMAGES, header.image_shape, np.dtype(np.uint8))
    _check_array(root / LABELS, (header.count,), np.dtype(np.int64))
    marker = _read_marker(root)
    labels = np.load(root / LABELS)
    if labels.size and (labels.min() < -1 or labels.max() >= len(header.class_names)):
        raise ConfigError(f"{root / LABELS} has labels outside -1..{len(header.class_names) - 1}; "
                          "prepare the set again")
    found = Expected(header.image_size, header.channels, len(header.class_names), int(marker["images"]))
    _check_expected(root, found, expect or Expected())
    sums = {int(k): (v[0], v[1], int(v[2])) for k, v in marker["class_sums"].items()}
    return PreparedSet(root, header, np.load(root / IMAGES, mmap_mode="r"), labels,
                       int(marker["images"]), int(marker["skipped"]), sums)


def _read_marker(root: Path) -> dict[str, Any]:
    try:
        marker = json.loads((root / COMPLETE).read_text())
        if not isinstance(marker, dict) or not {"images", "skipped", "class_sums"} <= set(marker):
            raise ValueError("missing images, skipped or class_sums")
        return marker
    except (OSError, ValueError) as e:
        raise ConfigError(f"{root / COMPLETE} is not a completion marker ({str(e).splitlines()[0]}); "
                          "prepare the set again") from e


_UNITS = {"image_size": ("resolution", " px"), "channels": ("channels", ""),
          "num_classes": ("classes", ""), "num_images": ("decoded images", "")}


def _check_expected(root: Path, found: Expected, want: Expected) -> None:
    for name, (what, unit) in _UNITS.items():
        need, have = getattr(want, name), getattr(found, name)
        if need is not None and need != have:
            raise ConfigError(f"{root}: {what} {have:,}{unit}, expected {need:,}{unit}; "
                              "prepare a set that matches or change the space")
