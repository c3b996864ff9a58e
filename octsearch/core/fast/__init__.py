"""Fast OctConv on CPU: a restructured inference path and a faster training path.

- :func:`optimize_for_inference`: batch norm folded, fewer kernels per OctConv, channels-last,
  optional ``torch.compile``.
- :func:`prepare_for_training`: the same parameters, a faster training forward and backward.
- :func:`measure_latency`: median CPU latency through the fast path (a search objective).
"""

from octsearch.core.fast.inference import InferenceModel, optimize_for_inference

__all__ = ["InferenceModel", "optimize_for_inference"]
