"""The small space files of the supernet tests: two searched alphas of an Oct-ResNet-20 on MNIST."""

from __future__ import annotations


def two_alpha_space(name: str, *, width: float = 0.25, limit: int = 240, batch: int = 60, lr: float = 0.05) -> str:
    """``stage1.out`` and ``stage2.out`` over {0, .5} (4 configurations), one proxy epoch."""
    return f"""\
description: {name}
model: {{name: oct_resnet20, args: {{width_mult: {width}}}}}
data: {{name: mnist, seed: 0, val_fraction: 0.25, limit: {limit}}}
search:
  grid: [0, 0.5]
  fixed: 0
  params:
    stage1.out: {{slots: [stage1.out]}}
    stage2.out: {{slots: [stage2.out]}}
budget: {{epochs: 1, batch_size: {batch}, optimizer: {{name: sgd, lr: {lr}, momentum: 0.9}}, seed: 0, threads: 1}}
sampler: {{name: random, trials: 4, concurrency: 1}}
"""


def four_param_space(name: str, model_args: str = "width_mult: 0.5") -> str:
    """``stage1.out``, the stage-1 block interiors, ``stage2.out`` and the stage-2 block interiors over
    {0, .25, .5} (81 configurations, mnist81's layout), one proxy epoch on 400 digits."""
    return f"""\
description: {name}
model: {{name: oct_resnet20, args: {{{model_args}}}}}
data: {{name: mnist, seed: 0, val_fraction: 0.25, limit: 400}}
search:
  grid: [0, 0.25, 0.5]
  fixed: 0
  params:
    stage1.out: {{slots: [stage1.out]}}
    stage1.inner: {{slots: ["stage1.block*.inner"]}}
    stage2.out: {{slots: [stage2.out]}}
    stage2.inner: {{slots: ["stage2.block*.inner"]}}
budget: {{epochs: 1, batch_size: 32, optimizer: {{name: sgd, lr: 0.05, momentum: 0.9}}, seed: 0, threads: 1}}
sampler: {{name: random, trials: 4, concurrency: 1}}
"""
