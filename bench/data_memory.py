"""Resident memory of concurrent trials on one node's shared uint8 copy, and their data wait.

Writes a synthetic CIFAR-10-format directory (``--images`` 32 px RGB images in five training
batches, 50,000 by default: 153.6 MB of uint8), then starts ``--trials`` processes at once, each
running one real trial of a tiny Oct-ResNet-20 (width 0.25, one epoch, batch 128, 1 thread) on it
through ``run_trial`` (the first builds the node's copy, the others wait for it and map it).
Each process samples its own ``/proc/self/smaps_rollup`` every 0.2 s: PSS (proportional set size:
a page mapped by k processes counts 1/k in each, so the PSS of all processes adds up to what they
take together) and RSS, in MB (1e6 bytes). "Added" is a process's peak PSS minus its PSS before
the data set was opened (torch and the model imported and built). Also printed: the share of
training wall time a trial spent waiting for batches (``TrialResult.data_wait_seconds /
train_seconds``). Target (issue 14): the trials together add at most 1.2x the set's uint8 size,
against 2 x 4 bytes a pixel (two float32 copies) before.

    python bench/data_memory.py [--images 50000] [--trials 2] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

SPACE = """\
description: data memory bench
model: {{name: oct_resnet20, args: {{width_mult: 0.25}}}}
data: {{name: cifar10, root: {root}, seed: 0, val_fraction: 0.2, augment: crop_flip}}
search: {{per: stage, grid: [0, 0.25, 0.5]}}
budget: {{epochs: 1, batch_size: 128, threads: 1, optimizer: {{name: sgd, lr: 0.05}}}}
"""


def write_cifar(root: Path, images: int) -> None:
    """A CIFAR-10 directory in the python pickle layout: random images, labels cycling 0..9."""
    rng = np.random.default_rng(0)
    root.mkdir(parents=True, exist_ok=True)
    per = images // 5
    for b in range(1, 6):
        batch = {b"data": rng.integers(0, 256, (per, 3072), dtype=np.uint8),
                 b"labels": [i % 10 for i in range(per)], b"batch_label": b"synthetic"}
        (root / f"data_batch_{b}").write_bytes(pickle.dumps(batch, protocol=2))
    meta = {b"label_names": [f"class{i}".encode() for i in range(10)], b"num_vis": 3072}
    (root / "batches.meta").write_bytes(pickle.dumps(meta, protocol=2))


def memory_mb() -> tuple[float, float]:
    """(PSS, RSS) of this process in MB, from /proc/self/smaps_rollup."""
    fields = {}
    for line in Path("/proc/self/smaps_rollup").read_text().splitlines()[1:]:
        name, value = line.split(":", 1)
        fields[name] = int(value.split()[0]) * 1024 / 1e6
    return fields["Pss"], fields["Rss"]


def mapped_mb(prefix: str) -> float:
    """PSS in MB of this process's mappings of files under ``prefix`` (the node's copy), from /proc/self/smaps."""
    total, inside = 0.0, False
    for line in Path("/proc/self/smaps").read_text().splitlines():
        head = line.split()
        if head and "-" in head[0] and len(head) >= 5 and ":" not in head[0]:  # a mapping's first line
            inside = len(head) >= 6 and head[5].startswith(prefix)
        elif inside and line.startswith("Pss:"):
            total += int(head[1]) * 1024 / 1e6
    return total


def child(space_path: str) -> None:
    """One trial; prints a JSON line of its memory and timings."""
    import torch  # noqa: F401 (imported before the baseline, as a trial's worker has it)

    from octsearch.core.registry import create_model
    from octsearch.spaces import load_space
    from octsearch.trial import run_trial

    create_model("oct_resnet20", width_mult=0.25, num_classes=10, in_chans=3, input_size=32)
    cache = os.environ["OCTSEARCH_DATA_CACHE"]
    base = memory_mb()
    peak = [base[0], base[1]]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.2):
            pss, rss = memory_mb()
            peak[0], peak[1] = max(peak[0], pss), max(peak[1], rss)

    threading.Thread(target=sample, daemon=True).start()
    space = load_space(space_path)  # opens the data set: the first process builds the node's copy
    opened, build_peak = memory_mb(), peak[0]
    opened_file = mapped_mb(cache)
    peak[0] = opened[0]
    result = run_trial(space, space.uniform(0.5), device="cpu")
    done.set()
    end, end_file = memory_mb(), mapped_mb(cache)
    print(json.dumps({"pid": os.getpid(), "base": base[0], "build_peak": build_peak, "opened": opened[0],
                      "opened_file": opened_file, "peak": max(peak[0], end[0]), "end": end[0], "end_file": end_file,
                      "peak_rss": max(peak[1], end[1]), "train_s": result.train_seconds,
                      "wait_s": result.data_wait_seconds}), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=50_000)
    parser.add_argument("--trials", type=int, default=2)
    parser.add_argument("--keep", type=Path, help="write the set and the cache here (default: a temporary dir)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    with tempfile.TemporaryDirectory() as tmp:
        run(args.keep or Path(tmp), args.images, args.trials)


def run(folder: Path, images: int, trials: int) -> None:
    write_cifar(folder / "cifar", images)
    space = folder / "space.yaml"
    space.write_text(SPACE.format(root=folder / "cifar"))
    env = dict(os.environ, OCTSEARCH_DATA_CACHE=str(folder / "cache"), OMP_NUM_THREADS="1")
    start = time.perf_counter()
    procs = [subprocess.Popen([sys.executable, __file__, "--child", str(space)], env=env,
                              stdout=subprocess.PIPE, text=True) for _ in range(trials)]
    rows = [json.loads(p.communicate()[0].strip().splitlines()[-1]) for p in procs]
    wall = time.perf_counter() - start
    uint8_mb = images * 3 * 32 * 32 / 1e6
    print(f"set: {images:,} images of 3x32x32 uint8 = {uint8_mb:.1f} MB (float32 copies before: "
          f"{4 * uint8_mb:.1f} MB a trial); PSS and RSS in MB (1e6 bytes)")
    data_total = 0.0
    for r in rows:
        # what the data costs a trial: what opening it left in its own memory, plus its share of the mapped copy
        data = (r["opened"] - r["opened_file"] - r["base"]) + r["end_file"]
        rest = r["peak"] - r["opened"] - (r["end_file"] - r["opened_file"])
        data_total += data
        print(f"trial pid {r['pid']}: PSS {r['base']:.0f} before the data, {r['build_peak']:.0f} at most while "
              f"opening it, {r['opened']:.0f} opened, {r['peak']:.0f} at most while training, {r['end']:.0f} at the end; "
              f"the node's copy mapped: {r['end_file']:.0f} PSS at the end; data's share {data:.0f}, training's "
              f"(activations, gradients, optimizer) {rest:.0f}; peak RSS {r['peak_rss']:.0f}; waiting for data "
              f"{100 * r['wait_s'] / r['train_s']:.1f}% of {r['train_s']:.1f} s training")
    print(f"{trials} concurrent trials: the data set adds {data_total:.0f} MB of PSS together = "
          f"{data_total / uint8_mb:.2f}x its uint8 size (target <= 1.2x; two float32 copies: 8x); wall {wall:.0f} s")
    print(f"reproduce: python bench/data_memory.py --images {images} --trials {trials}")


if __name__ == "__main__":
    main()
