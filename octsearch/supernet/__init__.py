"""A weight-sharing alpha supernet: one training ranks every configuration of a space.

Data flow: :mod:`~.switchable` (an Oct model whose alpha slots switch per forward pass over one set
of weights) <- :mod:`~.build` (a space's supernet) -> :mod:`~.sandwich` + :mod:`~.training`
(the sandwich rule, checkpoints, resume; :mod:`~.checkpoint`) -> :mod:`~.calibrate` +
:mod:`~.evaluate` (each configuration scored on the validation split) -> :mod:`~.remote` (as Ray
work) -> :mod:`~.record` (stored at budget ``supernet``) ; :mod:`~.pipeline` runs it end to end for
``octsearch supernet``. :mod:`~.subnet` hands out a configuration's stand-alone network with the
supernet's weights.

Screen and confirm (``launch --evaluator supernet --confirm K``): :mod:`~.screen` runs the pipeline
into the companion search and :mod:`~.confirm` chooses the K configurations the launch trains
stand-alone; :mod:`~.report` (with :mod:`~.budget_model`, the model on both budgets) reads back
how well the supernet ranked them.
"""

from __future__ import annotations

from octsearch.supernet.settings import SUPERNET_BUDGET

__all__ = ["SUPERNET_BUDGET"]
