"""Fast OctConv on CPU: a restructured inference path and a faster training path.

- :func:`optimize_for_inference`: batch norm folded, fewer kernels per OctConv, oneDNN with packed
  weights and fused post-ops, channels-last; optionally through ``torch.compile`` or exported to
  ONNX Runtime (``onnxrt``; the fastest on Oct-ResNet-50).
- :func:`prepare_for_training`: the same parameters, a faster training forward and backward.
- :func:`measure_latency`: median CPU latency through one of those paths (a search objective).

A package beside the core: it imports :mod:`octsearch.core`, the core never imports it. Blocks are
fused from the structure their family states (:mod:`octsearch.core.structure`), never by class.
"""

from octsearch.fast.inference import InferenceModel, optimize_for_inference
from octsearch.fast.latency import LatencyResult, measure_latency, tune_malloc
from octsearch.fast.train import prepare_for_training

__all__ = [
    "InferenceModel",
    "LatencyResult",
    "measure_latency",
    "optimize_for_inference",
    "prepare_for_training",
    "tune_malloc",
]
