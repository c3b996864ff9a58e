"""Prepare an image folder once into a prepared set (:mod:`octsearch.data.prepared`).

Lifecycle of :func:`prepare_folder`: check the arguments -> list the folder (one sub-folder per
class, classes in sorted order, files in sorted path order, as ``imagefolder`` reads it) -> check
the destination (new, empty, or the same set left unfinished; enough free disk) -> decode and
resize the pending chunks in a process pool, each worker writing its chunk straight into the
memory-mapped images file -> record each chunk -> write the completion marker.

Resizing: the shorter side to ``size`` px, then the centre ``size`` x ``size`` crop (the aspect
ratio is kept; Pillow's bilinear filter, antialiased when shrinking; JPEGs are decoded at a
reduced scale first with ``draft``, never below ``size``). An image Pillow cannot decode is
skipped and counted (its slot keeps label -1); the report names the first few.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import shutil
import signal
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from octsearch.data.prepared import (
    COMPLETE,
    HEADER,
    ChunkRecord,
    Header,
    PreparedSet,
    PreparedWriter,
    Sums,
    open_for_writing,
    open_prepared,
)
from octsearch.errors import ConfigError

DEFAULT_CHUNK = 256  # images per chunk: the unit of work of a worker and of resuming
MAX_SIZE = 4096  # px: the largest model input octsearch builds
RESIZE = ("shorter side to the size (Pillow bilinear, antialiased; JPEG draft decoding), "
          "then the centre square crop")

Progress = Callable[[int, int], None]  # (images in finished chunks, images in the set)


@dataclass(frozen=True)
class PrepareReport:
    """What a prepare run did. ``images_per_second``: images decoded and written by this run
    (skipped ones included) per wall-clock second of decoding, listing excluded."""

    path: Path
    header: Header
    images: int  # decodable images in the set
    skipped: int  # images that could not be decoded (label -1)
    skipped_files: tuple[str, ...]  # the first of them, "file: reason"
    chunks_before: int  # chunks an earlier run had written already
    seconds: float
    images_per_second: float
    workers: int = 1  # decoding processes used
    already_complete: bool = False

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.header.image_shape))


@dataclass(frozen=True)
class _Task:
    images_path: str
    chunk: int
    start: int
    files: tuple[str, ...]
    labels: tuple[int, ...]
    size: int
    mode: str
    root: str


def prepare_folder(src: str | os.PathLike[str], dst: str | os.PathLike[str], size: int, *,
                   workers: int | None = None, channels: int = 3, chunk_size: int = DEFAULT_CHUNK,
                   on_progress: Progress | None = None) -> PrepareReport:
    """Decode and resize the image folder ``src`` into the prepared set ``dst`` at ``size`` px.

    A rerun with the same arguments continues an unfinished ``dst`` (its finished chunks are not
    redone) and returns at once for a finished one. Nothing is written when an argument, the
    folder or the destination is refused (a one-line ConfigError or DataError).
    """
    workers = default_workers() if workers is None else workers
    _check_args(size, workers, channels, chunk_size)
    root = Path(src).expanduser()
    files, labels, classes = list_folder(root)
    listing = _listing_hash(root, files, labels)
    source = f"image folder {root.resolve()} ({len(files):,} images, {len(classes)} classes)"
    header = Header(size, channels, len(files), chunk_size, classes, source, RESIZE, listing)
    writer, finished = _open_writer(Path(dst).expanduser(), header, labels)
    if finished is not None:
        return finished
    pending = writer.pending()
    tasks = [_task(writer, root, files, labels, c, "RGB" if channels == 3 else "L") for c in pending]
    start = time.perf_counter()
    _run(tasks, writer, workers, on_progress)
    seconds = time.perf_counter() - start
    writer.finish()
    return _report(writer, header.chunks - len(pending), seconds, sum(len(t.files) for t in tasks), workers)


def _open_writer(path: Path, header: Header, labels: np.ndarray) -> tuple[PreparedWriter, PrepareReport | None]:
    """The set's writer (created or resumed), and its report when it is complete already."""
    _check_destination(path, header)
    writer = PreparedWriter.open(path, header, labels)
    if (path / COMPLETE).is_file():
        return writer, _report(writer, header.chunks, 0.0, 0, already_complete=True)
    return writer, None


def default_workers() -> int:
    """The CPUs this process may run on (its affinity: a container's limit, not the host's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def prepare_arrays(images: np.ndarray, labels: np.ndarray, class_names: Sequence[str],
                   dst: str | os.PathLike[str], *, source: str,
                   chunk_size: int = DEFAULT_CHUNK) -> PrepareReport:
    """Write uint8 ``images`` (N, C, S, S) already in memory as a prepared set (resumable too)."""
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[2] != images.shape[3]:
        raise ValueError(f"images must be uint8 (N, C, S, S); got {images.dtype} {images.shape}")
    labels = np.asarray(labels, dtype=np.int64)
    digest = hashlib.sha256(labels.tobytes() + repr(images.shape).encode() + source.encode())
    header = Header(int(images.shape[-1]), int(images.shape[1]), len(labels), chunk_size,
                    tuple(class_names), source, "none (written as given)", digest.hexdigest())
    writer, finished = _open_writer(Path(dst).expanduser(), header, labels)
    if finished is not None:
        return finished
    pending = writer.pending()
    started = time.perf_counter()
    target = np.load(writer.images_path, mmap_mode="r+")  # this call's own mapping, closed at return
    for chunk in pending:
        lo, hi = header.chunk_range(chunk)
        target[lo:hi] = images[lo:hi]
        target.flush()
        writer.record(ChunkRecord(chunk, (), chunk_sums(images[lo:hi], labels[lo:hi])))
    seconds = time.perf_counter() - started
    writer.finish()
    done = sum(hi - lo for lo, hi in map(header.chunk_range, pending))
    return _report(writer, header.chunks - len(pending), seconds, done)


def publish_arrays(images: np.ndarray, labels: np.ndarray, class_names: Sequence[str],
                   dst: str | os.PathLike[str], *, source: str) -> PreparedSet:
    """``dst`` as a complete prepared set of these arrays, written at most once however many
    processes ask at the same time (a node-local cache shared by trials): each writes a private
    sibling directory and renames it into place; the first rename wins, the others are dropped."""
    path = Path(dst).expanduser()
    if not (path / COMPLETE).is_file():
        tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}-{time.monotonic_ns()}")
        try:
            prepare_arrays(images, labels, class_names, tmp, source=source)
            os.rename(tmp, path)  # atomic; fails if another process put a set there first
        except OSError:
            if not (path / COMPLETE).is_file():
                raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return open_prepared(path)


def chunk_sums(images: np.ndarray, labels: np.ndarray, ok: np.ndarray | None = None) -> Sums:
    """Exact per-class, per-channel sums and sums of squares of the decoded images of a chunk."""
    ok = np.ones(len(labels), dtype=bool) if ok is None else ok
    out: Sums = {}
    for cls in np.unique(labels[ok]):
        picked = images[ok & (labels == cls)]
        s = np.zeros(images.shape[1], dtype=np.uint64)
        q = np.zeros(images.shape[1], dtype=np.uint64)
        for block in range(0, len(picked), 32):  # 32 images at a time: a small uint32 temporary
            wide = picked[block:block + 32].astype(np.uint32)
            s += wide.sum(axis=(0, 2, 3), dtype=np.uint64)
            q += np.square(wide).sum(axis=(0, 2, 3), dtype=np.uint64)
        pixels = len(picked) * images.shape[2] * images.shape[3]
        out[int(cls)] = ([int(v) for v in s], [int(v) for v in q], int(pixels))
    return out


def list_folder(root: Path) -> tuple[list[Path], np.ndarray, tuple[str, ...]]:
    """(files, labels, class names) of an image folder, in the order ``imagefolder`` reads it."""
    from octsearch.data.imagefolder import _class_dirs, _image_files

    files: list[Path] = []
    labels: list[int] = []
    classes = _class_dirs(root)
    for index, folder in enumerate(classes):
        found = _image_files(folder)
        files += found
        labels += [index] * len(found)
    return files, np.asarray(labels, dtype=np.int64), tuple(d.name for d in classes)


def decode(path: str | Path, size: int, mode: str = "RGB") -> np.ndarray:
    """One image as uint8 (C, size, size): shorter side to ``size``, centre crop (see above)."""
    from PIL import Image, ImageOps

    with Image.open(path) as image:
        image.draft(mode, (size, size))  # JPEG: decode at 1/2, 1/4 or 1/8 scale, still >= size
        fitted = ImageOps.fit(image.convert(mode), (size, size), Image.Resampling.BILINEAR)
    array = np.asarray(fitted, dtype=np.uint8)
    return array[None] if array.ndim == 2 else array.transpose(2, 0, 1)


def _check_args(size: object, workers: object, channels: object, chunk_size: object) -> None:
    def whole(v: object) -> bool:
        return isinstance(v, int) and not isinstance(v, bool)

    if not whole(size) or not 1 <= size <= MAX_SIZE:  # type: ignore[operator]
        raise ConfigError(f"size={size!r} is not accepted; use an integer side from 1 to {MAX_SIZE} px "
                          "(64 or 112 are the usual ImageNet proxies)")
    if not whole(workers) or workers < 1:  # type: ignore[operator]
        raise ConfigError(f"workers={workers!r} is not accepted; use an integer >= 1 (processes)")
    if channels not in (1, 3) or not whole(channels):
        raise ConfigError(f"channels={channels!r} is not accepted; choose one of: 3 (RGB), 1 (grey)")
    if not whole(chunk_size) or chunk_size < 1:  # type: ignore[operator]
        raise ConfigError(f"chunk_size={chunk_size!r} is not accepted; use an integer >= 1 (images)")


def _listing_hash(root: Path, files: list[Path], labels: np.ndarray) -> str:
    digest = hashlib.sha256()
    for f, label in zip(files, labels.tolist(), strict=True):
        digest.update(f"{label}\t{f.relative_to(root).as_posix()}\n".encode())
    return digest.hexdigest()


def _check_destination(path: Path, header: Header) -> None:
    """A file, a foreign non-empty directory or too little free disk: refused before writing
    (an unfinished set's header is compared by :meth:`PreparedWriter.open`)."""
    if path.exists() and not path.is_dir():
        raise ConfigError(f"{path} is a file; the destination must be a new or empty directory")
    if (path / HEADER).is_file():
        return
    if path.is_dir() and any(path.iterdir()):
        raise ConfigError(f"{path} is a non-empty directory without {HEADER}; the destination must be "
                          "a new or empty directory (or an unfinished prepared set)")
    need = int(np.prod(header.image_shape)) + 8 * header.count + 2**20
    anchor = next(p for p in (path, *path.parents) if p.exists())
    free = shutil.disk_usage(anchor).free
    if need > free:
        raise ConfigError(f"{path}: the prepared set needs {need / 1e9:.3g} GB ({header.count:,} images "
                          f"of {header.channels}x{header.image_size}x{header.image_size} uint8), more than "
                          f"the {free / 1e9:.3g} GB free on {anchor}; accepted: a smaller size or another disk")


def _task(writer: PreparedWriter, root: Path, files: list[Path], labels: np.ndarray, chunk: int,
          mode: str) -> _Task:
    lo, hi = writer.header.chunk_range(chunk)
    return _Task(str(writer.images_path), chunk, lo, tuple(map(str, files[lo:hi])),
                 tuple(labels[lo:hi].tolist()), writer.header.image_size, mode, str(root))


def run_chunk(task: _Task) -> ChunkRecord:
    """Decode one chunk and write it into the images file (runs in a worker process)."""
    channels = 3 if task.mode == "RGB" else 1
    out = np.zeros((len(task.files), channels, task.size, task.size), dtype=np.uint8)
    ok = np.ones(len(task.files), dtype=bool)
    skipped = []
    for i, file in enumerate(task.files):
        try:
            out[i] = decode(file, task.size, task.mode)
        except Exception as e:  # noqa: BLE001 - whatever Pillow raises, the image is skipped
            ok[i] = False
            reason = (str(e).splitlines() or [type(e).__name__])[0]
            skipped.append((task.start + i, f"{os.path.relpath(file, task.root)}: {reason}"))
    target = open_for_writing(Path(task.images_path))
    target[task.start:task.start + len(out)] = out
    target.flush()
    return ChunkRecord(task.chunk, tuple(skipped), chunk_sums(out, np.asarray(task.labels), ok))


def _run(tasks: list[_Task], writer: PreparedWriter, workers: int, on_progress: Progress | None) -> None:
    total = writer.header.count
    done = total - sum(len(t.files) for t in tasks)
    if on_progress is not None:
        on_progress(done, total)  # where an earlier run stopped: the baseline of a rate
    if workers == 1 or len(tasks) <= 1:
        for task in tasks:
            writer.record(run_chunk(task))
            done += len(task.files)
            if on_progress is not None:
                on_progress(done, total)
        return
    _run_pool(tasks, writer, workers, on_progress, done)


def _run_pool(tasks: list[_Task], writer: PreparedWriter, workers: int, on_progress: Progress | None,
              done: int) -> None:
    """At most two chunks a worker in flight: memory stays bounded and an interrupt stops soon."""
    queue = list(reversed(tasks))
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=_context(), initializer=_ignore_sigint)
    running: dict[Future[ChunkRecord], int] = {}
    try:
        while queue or running:
            while queue and len(running) < 2 * workers:
                task = queue.pop()
                running[pool.submit(run_chunk, task)] = len(task.files)
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                writer.record(future.result())
                done += running.pop(future)
                if on_progress is not None:
                    on_progress(done, writer.header.count)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _ignore_sigint() -> None:
    """Workers leave Ctrl-C to the parent, which stops handing out chunks and records the
    finished ones (a rerun continues from there)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _context() -> multiprocessing.context.BaseContext:
    """fork where it is safe and cheap (Linux: the workers run Pillow and numpy only, and a script
    without a ``__main__`` guard is not re-run), spawn elsewhere."""
    method = "fork" if sys.platform == "linux" else "spawn"
    return multiprocessing.get_context(method)


def _report(writer: PreparedWriter, before: int, seconds: float, processed: int, workers: int = 1, *,
            already_complete: bool = False) -> PrepareReport:
    marker = json.loads((writer.path / COMPLETE).read_text())
    return PrepareReport(writer.path, writer.header, int(marker["images"]), int(marker["skipped"]),
                         tuple(marker["skipped_files"]), before, seconds,
                         processed / seconds if seconds > 0 else 0.0, workers, already_complete)
