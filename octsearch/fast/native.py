"""Build and load the batch-innermost convolution kernels (C, compiled once per machine).

The source (:mod:`._native_src`) is compiled with the system C compiler (``cc``, ``-O3
-march=native``) into the user cache directory, keyed by a hash of the source, flags and CPU;
a file lock serialises concurrent builds (several trial workers). :func:`load` returns None when
no compiler is available or the build fails; callers then keep PyTorch's kernels.
"""

from __future__ import annotations

import ctypes
import fcntl
import hashlib
import os
import platform
import shutil
import subprocess
import tempfile
from functools import cache
from pathlib import Path

import torch
from torch import Tensor

from octsearch.fast._native_src import SOURCE

# -std=c99 alone turns off contracting a * b + c into fused multiply-adds (ISO C mode)
FLAGS = ("-O3", "-march=native", "-ffp-contract=fast", "-fPIC", "-shared", "-std=c99")
_FUNCTIONS = ("oct_conv_fwd", "oct_conv_bwd_weight", "oct_conv_bwd_data_strided", "oct_bn_stats",
              "oct_bn_apply", "oct_bn_grad_sums", "oct_bn_grad_input", "oct_sum4", "oct_spread4")
_VOIDP = ctypes.c_void_p


def _cpu_id() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            return next((line for line in f if line.startswith("flags")), platform.machine())
    except OSError:
        return platform.machine()


def _cache_dir() -> Path:
    env = os.environ.get("OCTSEARCH_CACHE_DIR")
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_cache_dir("octsearch"))


def find_compiler() -> str | None:
    """The C compiler that builds the kernels (``$CC``, else ``cc`` or ``gcc``), or None where
    there is none or the system is not Linux (the only system the build is made for)."""
    if platform.system() != "Linux":
        return None
    return os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")


@cache
def load() -> ctypes.CDLL | None:
    """The compiled kernel library, or None if it cannot be built here (no compiler, not Linux)."""
    compiler = find_compiler()
    if os.environ.get("OCTSEARCH_NO_NATIVE") == "1" or compiler is None:
        return None
    key = hashlib.sha256("\0".join([SOURCE, compiler, *FLAGS, _cpu_id()]).encode()).hexdigest()[:16]
    directory = _cache_dir() / "kernels"
    library = directory / f"octconv_{key}.so"
    try:
        directory.mkdir(parents=True, exist_ok=True)
        if not library.exists():
            with open(directory / ".lock", "w") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                if not library.exists():
                    _build(compiler, library)
        lib = ctypes.CDLL(str(library))
    except (OSError, subprocess.SubprocessError):
        return None
    for name in _FUNCTIONS:
        getattr(lib, name).restype = None
    lib.oct_lanes.restype = lib.oct_conv_fwd.restype = ctypes.c_int
    return lib


def lanes() -> int:
    """Batch lanes per vector of the built kernels (16 with AVX-512, else 8): the batch must be a
    multiple of this. Call only where :func:`available`."""
    return load().oct_lanes()


def _build(compiler: str, library: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "octconv.c"
        src.write_text(SOURCE)
        out = Path(tmp) / library.name
        subprocess.run([compiler, *FLAGS, "-o", str(out), str(src)], check=True, capture_output=True, timeout=120)
        os.replace(out, library)  # atomic: other processes see a complete file or none


def available() -> bool:
    """Whether the kernels are compiled and loadable here."""
    return load() is not None


def preferred() -> bool:
    """Whether ``prepare_for_training(layout="auto")`` starts from the batch-last kernels (its
    default before, or without, a measurement: see :mod:`.autolayout`):
    they are built for the CPU's widest vectors (16 lanes with AVX-512; 8 with AVX2 and FMA).
    Measured on AVX2 (AMD EPYC, 1 thread; Oct-ResNet-20, width 0.5, 28x28, batch 128; median ms per
    training step, ``bench/train_step.py --alphas 0,0.5,0.75 --channels-last-path --batch-last-path``):
    batch-last 160 / 126 / 116 ms at uniform alpha 0 / 0.5 / 0.75, channels-last 182 / 233 / 218.
    Elsewhere (no AVX2, or an AVX-512 CPU whose compiler built 8 lanes) they are unmeasured and
    oneDNN's channels-last kernels run instead."""
    if not available():
        return False
    flags = _cpu_id().split()
    if "avx512f" in flags:
        return lanes() == 16
    return "avx2" in flags and "fma" in flags


def _ptr(t: Tensor) -> ctypes.c_void_p:
    if not t.is_contiguous():  # the kernels index dense memory; a caller bug, not user input
        raise ValueError("batch-last kernels need contiguous tensors")
    return _VOIDP(t.data_ptr())


def out_size(size: int, kernel: int, stride: int, padding: int) -> int:
    return (size + 2 * padding - kernel) // stride + 1


def _strides(weight: Tensor, flip_transpose: bool = False) -> tuple[ctypes.c_void_p, ctypes.Array]:
    """Pointer and element strides (co, ci, ky, kx) through which a kernel reads ``weight``
    (any strided view). ``flip_transpose`` reads ``weight.flip(2, 3).transpose(0, 1)``."""
    s0, s1, s2, s3 = weight.stride()
    if not flip_transpose:
        return _VOIDP(weight.data_ptr()), (ctypes.c_longlong * 4)(s0, s1, s2, s3)
    k1, k2 = weight.shape[2] - 1, weight.shape[3] - 1
    base = weight.data_ptr() + (k1 * s2 + k2 * s3) * weight.element_size()
    return _VOIDP(base), (ctypes.c_longlong * 4)(s1, s0, -s2, -s3)


def conv_forward(x: Tensor, weight: Tensor, stride: int, padding: int, *, flip_transpose: bool = False) -> Tensor:
    """``x``: contiguous ``[Ci][H][W][N]`` float32; ``weight``: ``[Co][Ci][K][K]`` (any strides;
    with ``flip_transpose`` the kernel reads ``weight.flip(2, 3).transpose(0, 1)``)."""
    ci, h, w, n = x.shape
    k = weight.shape[-1]
    co = weight.shape[1] if flip_transpose else weight.shape[0]
    ho, wo = out_size(h, k, stride, padding), out_size(w, k, stride, padding)
    out = torch.empty((co, ho, wo, n), dtype=x.dtype)
    wp, ws = _strides(weight, flip_transpose)
    if load().oct_conv_fwd(_ptr(x), wp, ws, _ptr(out), n, ci, co, h, w, ho, wo, k, stride, padding):
        raise MemoryError("batch-last convolution: no memory for the packed weight")
    return out


def conv_backward_data(grad: Tensor, weight: Tensor, height: int, width: int, stride: int, padding: int) -> Tensor:
    """Gradient of the input ``[Ci][H][W][N]`` from the output gradient ``[Co][Ho][Wo][N]``."""
    co, ho, wo, n = grad.shape
    _, ci, k, _ = weight.shape
    if stride == 1:  # a stride-1 convolution's data gradient is a convolution with flipped weights
        return conv_forward(grad, weight, 1, k - 1 - padding, flip_transpose=True)
    out = torch.empty((ci, height, width, n), dtype=grad.dtype)
    wp, ws = _strides(weight)
    load().oct_conv_bwd_data_strided(_ptr(grad), wp, ws, _ptr(out), n, ci, co, height, width, ho, wo,
                                     k, stride, padding)
    return out


def conv_backward_weight(x: Tensor, grad: Tensor, kernel: int, stride: int, padding: int) -> Tensor:
    """Gradient of the weight ``[Co][Ci][K][K]`` (contiguous)."""
    ci, h, w, n = x.shape
    co, ho, wo, _ = grad.shape
    dw = torch.empty((co, ci, kernel, kernel), dtype=x.dtype)
    lanes_ = torch.empty(co * ci * kernel * kernel * lanes(), dtype=x.dtype)  # per-lane partial sums
    load().oct_conv_bwd_weight(_ptr(x), _ptr(grad), _ptr(dw), n, ci, co, h, w, ho, wo, kernel, stride, padding,
                               _ptr(lanes_))
    return dw


def _f(value: float) -> ctypes.c_float:
    return ctypes.c_float(value)


def bn_stats(x: Tensor) -> tuple[Tensor, Tensor]:
    """Per-channel mean and biased variance of a physical map (two passes, double accumulators)."""
    c = x.shape[0]
    mean, var = torch.empty(c), torch.empty(c)
    load().oct_bn_stats(_ptr(x), c, ctypes.c_longlong(x.numel() // c), _ptr(mean), _ptr(var))
    return mean, var


def bn_apply(x: Tensor, scale: Tensor, shift: Tensor, relu: bool) -> Tensor:
    """``x * scale[c] + shift[c]``, then ReLU if ``relu``."""
    c = x.shape[0]
    y = torch.empty_like(x)
    load().oct_bn_apply(_ptr(x), c, ctypes.c_longlong(x.numel() // c), _ptr(scale.contiguous()),
                        _ptr(shift.contiguous()), int(relu), _ptr(y))
    return y


def bn_grad_sums(g: Tensor, y: Tensor, x: Tensor, mean: Tensor, relu: bool) -> tuple[Tensor, Tensor]:
    """Per channel: sum of the (ReLU-masked) gradient and of its product with ``x - mean``."""
    c = x.shape[0]
    sum_g, sum_gd = torch.empty(c), torch.empty(c)
    load().oct_bn_grad_sums(_ptr(g), _ptr(y), _ptr(x), c, ctypes.c_longlong(x.numel() // c), _ptr(mean),
                            int(relu), _ptr(sum_g), _ptr(sum_gd))
    return sum_g, sum_gd


def bn_grad_input(g: Tensor, y: Tensor, x: Tensor, mean: Tensor, a: Tensor, b: Tensor, k: Tensor,
                  relu: bool) -> Tensor:
    """``a[c] * g + b[c] * (x - mean[c]) + k[c]`` with ``g`` ReLU-masked if ``relu``."""
    c = x.shape[0]
    gx = torch.empty_like(x)
    load().oct_bn_grad_input(_ptr(g), _ptr(y), _ptr(x), c, ctypes.c_longlong(x.numel() // c), _ptr(mean),
                             _ptr(a.contiguous()), _ptr(b.contiguous()), _ptr(k.contiguous()), int(relu), _ptr(gx))
    return gx


def sum4(x: Tensor, scale: float) -> Tensor:
    """``scale *`` the sum of each 2x2 block of a physical map (pooling with scale 1/4)."""
    c, h2, w2, n = x.shape
    y = torch.empty((c, h2 // 2, w2 // 2, n), dtype=x.dtype)
    load().oct_sum4(_ptr(x), c, h2 // 2, w2 // 2, n, _f(scale), _ptr(y))
    return y


def spread4(x: Tensor, scale: float, into: Tensor | None = None) -> Tensor:
    """``scale * x`` copied into each 2x2 block (nearest up-sampling), or added into ``into``."""
    c, h, w, n = x.shape
    y = torch.empty((c, 2 * h, 2 * w, n), dtype=x.dtype) if into is None else into
    load().oct_spread4(_ptr(x), c, h, w, n, _f(scale), int(into is not None), _ptr(y))
    return y
