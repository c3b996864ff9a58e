"""Proxy trials sharing one GPU: trials/hour, GPU utilisation, and the alpha .5 / alpha 0 step ratio.

The CIFAR-10 space's proxy (``search_spaces/cifar10_resnet20.yaml``: Oct-ResNet-20, width 1,
32x32 RGB, 45,000 training and 5,000 validation images, batch 128) on synthetic images written
in CIFAR-10's pickle format (random pixels and labels: the time is what is measured, not the
accuracy). For K concurrent trials (default 1, 2, 4, 8), K processes each run one real trial
(``run_trial`` on ``cuda:0``, the path a search's worker takes with ``--gpus-per-trial 1/K``),
started together once their data is loaded. Reported per K:

- trials/hour: K x 3600 / the round's wall seconds, for trials of ``--epochs`` epochs;
- epoch s: wall seconds of one trial's last epoch (training 45,000 images plus validating 5,000;
  the first epoch holds the warm-up), the median over the K trials, and the mean over all epochs;
- GPU %: ``nvidia-smi``'s utilisation.gpu (percent of time a kernel ran), sampled every 0.2 s
  during the round (mean), or ``torch.cuda.utilization()`` without nvidia-smi.

The step ratio is the epoch time of uniform alpha .5 over that of alpha 0, one trial alone on the
card (below 1: alpha .5 is faster). Target on a current data-centre GPU: epoch under 5 s per
trial with 4 sharing the card, and a ratio of at most 1.

Runs where CUDA is present; elsewhere it says so and exits with 0. Ray is not needed (the
processes stand in for a search's workers); octsearch's light dependencies are (pydantic and
PyYAML besides torch and numpy):

    python bench/gpu_trials.py                       # K = 1, 2, 4, 8; 2 epochs a trial (a few minutes)
    python bench/gpu_trials.py --concurrency 4 --epochs 3
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import pickle
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from _common import command_line, machine, table

REPO = Path(__file__).resolve().parents[1]
SPACE_FILE = REPO / "search_spaces" / "cifar10_resnet20.yaml"
TARGET_EPOCH_S, TARGET_SHARING = 5.0, 4


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--concurrency", default="1,2,4,8", help="comma-separated trials sharing the card")
    p.add_argument("--epochs", type=int, default=2, help="epochs per trial (>= 2: the last one is past warm-up)")
    p.add_argument("--images", type=int, default=50_000, help="synthetic images in the pool (10%% validate)")
    p.add_argument("--alpha", type=float, default=0.5, help="uniform alpha of the concurrent trials")
    return p.parse_args(argv)


def write_cifar10(root: Path, images: int) -> Path:
    """Random images and labels in CIFAR-10's python pickle format (5 training batches)."""
    import numpy as np

    rng = np.random.default_rng(0)
    root.mkdir(parents=True, exist_ok=True)
    for i in range(1, 6):
        n = images // 5
        batch = {b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8), b"labels": rng.integers(0, 10, n).tolist()}
        (root / f"data_batch_{i}").write_bytes(pickle.dumps(batch, protocol=4))
    return root


def space_text(root: Path, epochs: int) -> str:
    """The shipped CIFAR-10 space with the synthetic directory and ``epochs``."""
    text = SPACE_FILE.read_text()
    for old, new in (("root: ${OCTSEARCH_CIFAR10}", f"root: {root}"), ("  epochs: 10\n", f"  epochs: {epochs}\n")):
        if old not in text:
            raise SystemExit(f"{SPACE_FILE} has no {old!r}: update bench/gpu_trials.py")
        text = text.replace(old, new, 1)
    return text


def _trial(text: str, alpha: float, device: str, barrier, results) -> None:  # noqa: ANN001 (multiprocessing objects)
    """One worker: load the data (cached in-process), wait for the others, train one trial."""
    from octsearch.spaces import space_from_text
    from octsearch.trial import run_trial

    space = space_from_text(text, "cifar10_gpu_bench", str(SPACE_FILE))
    space.data.load()
    barrier.wait()
    marks = [time.perf_counter()]
    result = run_trial(space, space.uniform(alpha), device=device, on_epoch=lambda epoch, accuracy: marks.append(time.perf_counter()))
    results.put({"last_epoch": marks[-1] - marks[-2], "mean_epoch": (marks[-1] - marks[0]) / result.epochs,
                 "device": result.device})


class UtilSampler:
    """GPU 0's utilisation (percent) every 0.2 s while running."""

    def __init__(self) -> None:
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _read(self) -> float | None:
        try:
            out = subprocess.run(["nvidia-smi", "--query-gpu=utilization.gpu", "--format=csv,noheader,nounits",
                                  "-i", "0"], capture_output=True, text=True, timeout=5).stdout
            return float(out.split()[0])
        except (OSError, ValueError, IndexError, subprocess.TimeoutExpired):
            try:
                import torch

                return float(torch.cuda.utilization(0))
            except Exception:  # noqa: BLE001 (no NVML either: no figure)
                return None

    def _run(self) -> None:
        while not self._stop.is_set():
            value = self._read()
            if value is not None:
                self.samples.append(value)
            self._stop.wait(0.2)

    def __enter__(self) -> UtilSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def mean(self) -> str:
        return f"{statistics.fmean(self.samples):.0f}" if self.samples else "n/a"


def run_round(text: str, k: int, alpha: float, device: str = "cuda:0") -> dict:
    """K trials started together; their epoch times, the round's wall time and GPU utilisation."""
    ctx = mp.get_context("spawn")  # CUDA in forked children does not work
    barrier, results = ctx.Barrier(k + 1), ctx.Queue()
    procs = [ctx.Process(target=_trial, args=(text, alpha, device, barrier, results)) for _ in range(k)]
    for p in procs:
        p.start()
    barrier.wait()
    started = time.perf_counter()
    with UtilSampler() as util:
        done = [results.get(timeout=3600) for _ in range(k)]
        wall = time.perf_counter() - started
    for p in procs:
        p.join()
    if any(p.exitcode for p in procs):
        raise SystemExit(f"a trial process failed (exit codes {[p.exitcode for p in procs]})")
    return {"k": k, "wall": wall, "util": util.mean(), "device": done[0]["device"],
            "last": statistics.median(d["last_epoch"] for d in done),
            "mean": statistics.median(d["mean_epoch"] for d in done)}


def report(rounds: list[dict], ratio: float, epochs: int, alpha: float, images: int) -> None:
    headers = ["trials sharing", "trials/hour", "epoch s (last, median)", "epoch s (mean)", "GPU % (mean)", "device"]
    rows = [[str(r["k"]), f"{r['k'] * 3600 / r['wall']:.0f}", f"{r['last']:.2f}", f"{r['mean']:.2f}", r["util"],
             r["device"]] for r in rounds]
    val = images // 10
    print(f"uniform alpha {alpha:g}, {epochs} epochs a trial; epoch = {images - val:,} training + {val:,} validation images "
          "(batch 128, 32 px); trials/hour at this epoch count")
    print(table(headers, rows))
    print(f"\nepoch-time ratio (last epoch, training + validation), alpha .5 over alpha 0, one trial alone: {ratio:.2f} "
          f"({'alpha .5 no slower' if ratio <= 1 else 'alpha .5 slower'}; target <= 1)")
    shared = [r for r in rounds if r["k"] == TARGET_SHARING]
    if shared:
        verdict = "met" if shared[0]["last"] < TARGET_EPOCH_S else "missed"
        print(f"target: epoch < {TARGET_EPOCH_S:g} s per trial with {TARGET_SHARING} sharing the card: "
              f"{shared[0]['last']:.2f} s, {verdict}")


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    import torch

    if not torch.cuda.is_available():
        print(f"CUDA is absent here (torch {torch.__version__}, built with CUDA {torch.version.cuda}): nothing "
              f"measured. On a machine with an NVIDIA GPU: python {' '.join(['bench/gpu_trials.py', *argv])}")
        return 0
    counts = [int(k) for k in args.concurrency.split(",")]
    with tempfile.TemporaryDirectory(prefix="octsearch-gpu-bench-") as tmp:
        text = space_text(write_cifar10(Path(tmp) / "cifar10", args.images), max(args.epochs, 2))
        alone = {a: run_round(text, 1, a) for a in (0.0, 0.5)}
        rounds = [alone[args.alpha] if k == 1 and args.alpha in alone else run_round(text, k, args.alpha)
                  for k in counts]
    print(f"machine: {machine()}; GPU: {torch.cuda.get_device_name(0)}")
    report(rounds, alone[0.5]["last"] / alone[0.0]["last"], max(args.epochs, 2), args.alpha, args.images)
    print(f"\ncommand: {command_line()}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))  # octsearch from this checkout, also where it is not installed
    raise SystemExit(main(sys.argv[1:]))
