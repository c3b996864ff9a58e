"""A configuration's stand-alone network carrying the supernet's weights and batch-norm statistics.

What the supernet computes for a configuration is exactly what ``create_model`` builds for it,
given these weights: the tests hold the two to the same outputs, and a user can export the
configuration the supernet ranked without retraining it.
"""

from __future__ import annotations

import torch
from torch import nn

from octsearch.configuration import Configuration
from octsearch.core.layers import OctBatchNorm2d
from octsearch.supernet.switchable import Supernet, SwitchableBatchNorm


def extract_subnet(supernet: Supernet, model_name: str, model_args: dict, configuration: Configuration) -> nn.Module:
    """``create_model(model_name, configuration's alphas)`` with the supernet's weights; batch norm
    takes the statistics the supernet holds for this configuration's alphas (recalibrate first)."""
    from octsearch.core.registry import create_model

    supernet.switch(configuration.by_slot)
    model = create_model(model_name, configuration.by_slot, **model_args)
    norms = dict(supernet.model.named_modules())
    weights = supernet.model.state_dict()
    with torch.no_grad():
        for key, tensor in model.state_dict().items():
            if key in weights:  # convolutions and the classifier: same names, same shapes
                tensor.copy_(weights[key])
        for name, module in model.named_modules():
            if isinstance(module, OctBatchNorm2d):
                _copy_norm(norms[name], module)
    return model


def _copy_norm(switchable: SwitchableBatchNorm, target: OctBatchNorm2d) -> None:
    """The high channels' slice into ``bn_h``, the low channels' into ``bn_l``."""
    i, high = switchable.index, switchable.high
    for bn, part in ((target.bn_h, slice(0, high)), (target.bn_l, slice(high, switchable.channels))):
        if bn is None:
            continue
        bn.weight.copy_(switchable.weight[part])
        bn.bias.copy_(switchable.bias[part])
        bn.running_mean.copy_(switchable.running_mean[i, part])
        bn.running_var.copy_(switchable.running_var[i, part])
