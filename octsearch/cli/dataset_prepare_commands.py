"""``octsearch dataset prepare SRC DST --size S [--workers N]``: an image folder, decoded once.

The ``dataset`` command group lives in :mod:`octsearch.cli.data_commands`; :func:`add_prepare`
adds this sub-command to its sub-parsers. Progress goes to stderr (one line rewritten in place on
a terminal, one line per :data:`STEP_PERCENT` % otherwise); the summary goes to stdout.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:  # numpy stays out of the parser's imports
    from octsearch.data.prepare import PrepareReport

STEP_PERCENT = 10  # a progress line per this share of the images when stderr is not a terminal
REFRESH_S = 0.2  # the fastest the terminal line is rewritten


def add_prepare(dataset_subparsers: argparse._SubParsersAction) -> None:
    """Add ``prepare`` to the ``dataset`` group's sub-parsers."""
    s = dataset_subparsers.add_parser(
        "prepare",
        help="decode and resize an image folder once into a memory-mapped uint8 set that trials read",
        description="Decode SRC (one sub-folder of images per class) with Pillow, resize each image "
        "(shorter side to SIZE, then the centre crop) and write DST: uint8 images, labels and class "
        "names in the prepared format. Resumable: run it again to continue an unfinished DST. "
        "Images that cannot be decoded are skipped and counted.",
    )
    s.add_argument("src", metavar="SRC", help="the image folder: SRC/<class>/<images> (jpg, png, ...)")
    s.add_argument("dst", metavar="DST", help="the prepared set's directory (new, empty or unfinished)")
    s.add_argument("--size", type=int, required=True, help="side in px (64 or 112: the usual ImageNet proxies)")
    s.add_argument("--workers", type=int, help="decoding processes (default: every CPU this process may use)")
    s.add_argument("--channels", type=int, default=3, help="3: RGB (default); 1: greyscale")
    s.add_argument("--chunk-size", type=int, help="images per chunk, the unit of resuming (default 256)")
    s.set_defaults(func=_prepare)


class ProgressLine:
    """``on_progress(done, total)`` for :func:`~octsearch.data.prepare.prepare_folder`."""

    def __init__(self, stream: TextIO, label: str = "preparing") -> None:
        self.stream, self.label = stream, label
        self.tty = stream.isatty()
        self._start = time.monotonic()
        self._first: int | None = None
        self._shown = -1.0
        self._next_step = STEP_PERCENT

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if self._first is None:
            self._first, self._start = done, now
        percent = 100.0 * done / max(total, 1)
        if self.tty:
            if now - self._shown >= REFRESH_S or done == total:
                self.stream.write("\r" + self._text(done, total, percent, now))
                self.stream.flush()
                self._shown = now
            return
        if percent >= self._next_step or done == total:
            self.stream.write(self._text(done, total, percent, now) + "\n")
            self.stream.flush()
            while self._next_step <= percent:
                self._next_step += STEP_PERCENT

    def _text(self, done: int, total: int, percent: float, now: float) -> str:
        rate = (done - (self._first or 0)) / max(now - self._start, 1e-9)
        left = f", about {(total - done) / rate:.0f} s left" if 0 < rate and done < total else ""
        return f"{self.label}: {done:,} / {total:,} images ({percent:.0f}%), {rate:,.0f} images/s{left}"

    def close(self) -> None:
        if self.tty and self._shown >= 0:
            self.stream.write("\n")
            self.stream.flush()


def _prepare(args: argparse.Namespace) -> int:
    from octsearch.data.prepare import DEFAULT_CHUNK, prepare_folder

    progress = ProgressLine(sys.stderr)
    try:
        report = prepare_folder(args.src, args.dst, args.size, workers=args.workers, channels=args.channels,
                                chunk_size=args.chunk_size or DEFAULT_CHUNK, on_progress=progress)
    except KeyboardInterrupt:
        progress.close()
        print(f"octsearch: interrupted; {args.dst} keeps its finished chunks: run the same command "
              "again to continue", file=sys.stderr)
        return 130
    progress.close()
    for line in summary(report):
        print(line)
    return 0


def summary(report: PrepareReport) -> list[str]:
    """The lines printed after a prepare run."""
    h = report.header
    lines = [f"{report.path}: {report.images:,} images, {len(h.class_names)} classes, "
             f"{h.channels} x {h.image_size} x {h.image_size} uint8 ({report.nbytes / 1e6:,.1f} MB) "
             f"from {h.source}"]
    if report.already_complete:
        return [*lines, "already complete: nothing to do"]
    lines.append(f"decoded in {report.seconds:.1f} s: {report.images_per_second:,.0f} images/s with "
                 f"{report.workers} worker process(es); resized: {h.resize}")
    if report.chunks_before:
        lines.append(f"resumed: {report.chunks_before} of {h.chunks} chunks were written by an earlier run")
    if report.skipped:
        lines.append(f"skipped {report.skipped:,} image(s) that could not be decoded (labelled -1, never "
                     f"read by trials); first: {'; '.join(report.skipped_files[:3])}")
    else:
        lines.append("skipped 0 images: every image decoded")
    return lines
