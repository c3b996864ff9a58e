"""``optimize_for_inference``: the fast CPU inference path of an Oct model."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from octsearch.errors import ConfigError
from octsearch.fast.compile import CompiledInference
from octsearch.fast.fused import fuse_model
from octsearch.fast.onnxrt import OnnxRuntimeInference, require


class InferenceModel(nn.Module):
    """A model restructured for inference; call it like the original (eval mode, no gradients).

    Attributes:
        net: the restructured module (batch norm folded, channels-last if asked).
        channels_last: whether inputs are converted to channels-last memory.
        compiled: whether ``net`` runs through ``torch.compile``.
        onnxruntime: whether ``net`` runs exported, through ONNX Runtime.
    """

    def __init__(self, net: nn.Module, channels_last: bool, compiled: bool, cpp_wrapper: bool = False,
                 onnxruntime: bool = False) -> None:
        super().__init__()
        self.net = net
        self.channels_last = channels_last
        self.compiled = compiled
        self.onnxruntime = onnxruntime
        # Kept out of the module tree so that state_dict / repr show the plain module once.
        run: Any = net
        if compiled:
            run = CompiledInference(net, cpp_wrapper=cpp_wrapper)
        elif onnxruntime:
            run = OnnxRuntimeInference(net)
        self._run = run

    def forward(self, x: Tensor) -> Any:
        if self.channels_last and x.dim() == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        with torch.no_grad():
            return self._run(x)

    def train(self, mode: bool = True) -> InferenceModel:
        if mode:
            raise ConfigError("an InferenceModel cannot train; accepted: eval() only "
                              "(train the original model, then call optimize_for_inference again)")
        return super().train(False)


def optimize_for_inference(
    model: nn.Module, *, compile: bool = False, channels_last: bool = True, cpp_wrapper: bool = False,
    onnxruntime: bool = False,
) -> InferenceModel:
    """Return a module computing ``model.eval()``'s outputs faster on CPU.

    Batch norm is folded into the convolution weights, each OctConv is restructured into fewer
    kernels (see :mod:`octsearch.fast.fused`), tensors use channels-last memory if
    ``channels_last``, and with ``compile`` the result runs through ``torch.compile`` (inductor,
    frozen weights; the first call for each input shape compiles, 15-60 s for an ImageNet-size
    model; ``cpp_wrapper`` also compiles the Python wrapper to C++). With ``onnxruntime`` it is
    exported to ONNX and runs in ONNX Runtime instead (a few seconds of export per input shape, the
    batch size free; ``channels_last`` does not apply: ONNX Runtime picks its own layout; needs
    ``pip install 'octsearch[onnx]'``). On Oct-ResNet-50 this is the fastest path, at every alpha.
    The original model is not changed. Outputs match the reference within 1e-4 (max abs
    difference, float32).
    """
    if not isinstance(model, nn.Module):
        raise ConfigError(f"model={type(model).__name__!r}; accepted: a torch.nn.Module")
    flags = (("compile", compile), ("channels_last", channels_last), ("cpp_wrapper", cpp_wrapper),
             ("onnxruntime", onnxruntime))
    for flag, value in flags:
        if not isinstance(value, bool):
            raise ConfigError(f"{flag}={value!r}; accepted: True or False")
    if compile and onnxruntime:
        raise ConfigError("compile=True with onnxruntime=True; accepted: at most one of the two runtimes")
    if cpp_wrapper and not compile:
        raise ConfigError("cpp_wrapper=True without compile=True; accepted: cpp_wrapper only with compile")
    if onnxruntime:
        require()
        channels_last = False
    # Plain torch operators (no direct oneDNN calls) where a compiler or exporter reads the graph.
    net = fuse_model(model, for_compile=compile or onnxruntime)
    for p in net.parameters():
        p.requires_grad_(False)
    if channels_last:
        net = net.to(memory_format=torch.channels_last)
    return InferenceModel(net, channels_last, compile, cpp_wrapper, onnxruntime).eval()
