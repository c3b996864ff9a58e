"""Throughput of ``octsearch dataset prepare`` (images/s) on a generated image folder, and what
trials see when they read the prepared set.

1. Generate ``--images`` images (default 3,000) in ``--classes`` class folders (default 10): two
   in three JPEG (quality 90), one in three PNG, sides drawn from ``--sides`` (default 64-256 px,
   any aspect ratio), smooth random content plus noise (file sizes like photos, not like flat
   colour). Skipped with ``--src DIR`` (an existing folder).
2. ``prepare_folder`` at each ``--size`` (default 64 and 112) with ``--workers`` processes (default
   every CPU): images/s = images decoded, resized and written / wall-clock seconds (listing the
   folder excluded; the first run of a size also pays the page cache's cold reads), and images per
   CPU-second (this process and its workers), the figure that a loaded shared machine changes least.
3. With ``--readers 2``: two processes at once each train ``--steps`` proxy steps (Oct-ResNet-20
   layout, width 0.5, alpha 0.5, batch 64, 1 thread, SGD) on the 64 px set through
   ``BatchReader`` with ``rrc_flip``: the share of the step spent in the data path (gather not
   hidden by the prefetch, uint8 -> float, augmentation, normalisation).
4. With ``--memory``: a random 50,000-image 32 px set (153.6 MB of uint8) written with
   ``prepare_arrays``; two processes at once each read one epoch of it in batches of 128: their
   proportional set size (Pss, shared pages split among the processes mapping them) and resident
   size (Rss) added over the epoch, against the set's uint8 size.

    python bench/prepare.py                         # about 1 minute on 2 cores
    python bench/prepare.py --readers 2 --memory    # and the reading figures (about 2 more)
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import numpy as np
from _common import command_line, machine, reexec_with_fixed_env


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--images", type=int, default=3000)
    p.add_argument("--classes", type=int, default=10)
    p.add_argument("--sides", default="64-256", help="range of image sides in px (default 64-256)")
    p.add_argument("--size", default="64,112", help="comma-separated prepared sides (default 64,112)")
    p.add_argument("--workers", type=int, default=None, help="decoding processes (default: every CPU)")
    p.add_argument("--src", help="an existing image folder instead of a generated one")
    p.add_argument("--readers", type=int, default=0, help="concurrent training readers (0: skip)")
    p.add_argument("--steps", type=int, default=20, help="training steps per reader")
    p.add_argument("--memory", action="store_true", help="also measure 2 readers' memory on a 50,000 x 32 px set")
    return p.parse_args(argv)


def generate(root: Path, n: int, classes: int, sides: tuple[int, int], seed: int = 0) -> float:
    """Write the folder; returns the mean file size in KB."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    total = 0
    for i in range(n):
        folder = root / f"class{i % classes:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        w, h = (int(v) for v in rng.integers(sides[0], sides[1] + 1, 2))
        coarse = Image.fromarray(rng.integers(0, 256, (6, 6, 3), dtype=np.uint8)).resize((w, h), Image.Resampling.BICUBIC)
        pixels = np.clip(np.asarray(coarse, np.int16) + rng.integers(-20, 21, (h, w, 3)), 0, 255).astype(np.uint8)
        path = folder / f"{i:06d}.{'png' if i % 3 == 0 else 'jpg'}"
        Image.fromarray(pixels).save(path, quality=90) if path.suffix == ".jpg" else Image.fromarray(pixels).save(path)
        total += path.stat().st_size
    return total / n / 1e3


def train_reader(path: str, steps: int, seed: int) -> dict[str, float]:
    """One trial-like process: seeded batches from the prepared set, a proxy training step each."""
    import torch

    import octsearch
    from octsearch.data.batches import BatchReader
    from octsearch.data.prepared import open_prepared
    from octsearch.trial.augment import augment_generator, make_augment

    torch.set_num_threads(1)
    data = open_prepared(path)
    sel = data.select()
    mean, std = data.normalisation()
    reader = BatchReader(data.images, sel.labels, indices=sel.indices, mean=mean, std=std,
                         memory_format=torch.channels_last)
    model = octsearch.create_model("oct_resnet20", alphas=0.5, input_size=data.header.image_size, in_chans=3,
                                   num_classes=len(sel.class_names), width_mult=0.5).to(memory_format=torch.channels_last)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    augment, aug_seconds = make_augment("rrc_flip"), [0.0]
    aug_gen = augment_generator(seed)

    def timed(x: torch.Tensor) -> torch.Tensor:
        start = time.perf_counter()
        out = augment(x, aug_gen)
        aug_seconds[0] += time.perf_counter() - start
        return out

    start, done = time.perf_counter(), 0
    while done < steps:
        for x, y in reader.epoch(64, torch.Generator().manual_seed(seed + done), timed):
            loss = torch.nn.functional.cross_entropy(model(x), y, label_smoothing=0.1)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            done += 1
            if done == steps:
                break
    total = time.perf_counter() - start
    return {"step_ms": 1e3 * total / steps, "wait_share": reader.wait_seconds / total,
            "augment_share": aug_seconds[0] / total}


def _memory() -> dict[str, int]:
    with open("/proc/self/smaps_rollup") as f:
        fields = dict(line.split(":", 1) for line in f if ":" in line)
    return {k: int(fields[k].split()[0]) * 1024 for k in ("Rss", "Pss")}


def memory_reader(path: str, seed: int) -> dict[str, int]:
    """Read one epoch of the set; the memory this process added meanwhile (bytes)."""
    import torch

    from octsearch.data.batches import BatchReader
    from octsearch.data.prepared import open_prepared

    torch.set_num_threads(1)
    data = open_prepared(path)
    mean, std = data.normalisation()
    reader = BatchReader(data.images, data.labels, mean=mean, std=std)
    before = _memory()
    for _ in reader.epoch(128, torch.Generator().manual_seed(seed)):
        pass
    time.sleep(1.0)  # both readers hold their mappings while the other one is measured
    after = _memory()
    return {k: after[k] - before[k] for k in after}


def run_prepare(src: Path, work: Path, sizes: list[int], workers: int | None) -> None:
    from octsearch.data.prepare import prepare_folder

    for size in sizes:
        cpu = _cpu_seconds()
        report = prepare_folder(src, work / f"prepared{size}", size, workers=workers)
        cpu = _cpu_seconds() - cpu
        print(f"prepare --size {size}: {report.header.count:,} images in {report.seconds:.2f} s = "
              f"{report.images_per_second:,.0f} images/s with {report.workers} worker process(es) "
              f"({report.header.count / cpu:,.0f} images per CPU-second: {cpu:.2f} s of CPU, listing "
              f"included); {report.skipped} skipped; {report.nbytes / 1e6:.1f} MB of uint8 written")


def _cpu_seconds() -> float:
    """CPU time of this process and of its finished children (the pool's workers), user + system."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def run_readers(path: Path, readers: int, steps: int) -> None:
    with ProcessPoolExecutor(readers, mp_context=get_context("spawn")) as pool:
        results = list(pool.map(train_reader, [str(path)] * readers, [steps] * readers, range(readers)))
    for i, r in enumerate(results):
        print(f"reader {i}: {r['step_ms']:.0f} ms per step; data path {100 * r['wait_share']:.1f}% of the step "
              f"(of which augmentation {100 * r['augment_share']:.1f}%)")


def run_memory(work: Path) -> None:
    from octsearch.data.prepare import prepare_arrays

    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (50_000, 3, 32, 32), dtype=np.uint8)
    path = work / "mem50k"
    prepare_arrays(images, np.arange(50_000) % 10, [f"c{i}" for i in range(10)], path, source="random")
    del images
    with ProcessPoolExecutor(2, mp_context=get_context("spawn")) as pool:
        results = list(pool.map(memory_reader, [str(path)] * 2, [0, 1]))
    size = 50_000 * 3 * 32 * 32
    pss, rss = sum(r["Pss"] for r in results), sum(r["Rss"] for r in results)
    print(f"memory, 2 readers of a 50,000 x 3 x 32 x 32 set ({size / 1e6:.1f} MB uint8): Pss added "
          f"{pss / 1e6:.1f} MB together = {pss / size:.2f}x the set (Rss added {rss / 1e6:.1f} MB: the "
          "shared file pages counted once per process)")


def main(argv: list[str]) -> None:
    args = parse_args(argv)
    print(machine())
    low, high = (int(v) for v in args.sides.split("-"))
    sizes = [int(s) for s in args.size.split(",")]
    with tempfile.TemporaryDirectory(prefix="octsearch-bench-prepare-") as tmp:
        work = Path(tmp)
        src = Path(args.src) if args.src else work / "src"
        if not args.src:
            start = time.perf_counter()
            kb = generate(src, args.images, args.classes, (low, high))
            print(f"generated {args.images:,} images ({args.classes} classes, sides {low}-{high} px, "
                  f"2/3 JPEG, 1/3 PNG, {kb:.1f} KB a file) in {time.perf_counter() - start:.1f} s")
        run_prepare(src, work, sizes, args.workers)
        if args.readers:
            run_readers(work / f"prepared{sizes[0]}", args.readers, args.steps)
        if args.memory:
            run_memory(work)
    print(f"command: {command_line()}")


if __name__ == "__main__":
    reexec_with_fixed_env()
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    main(sys.argv[1:])
