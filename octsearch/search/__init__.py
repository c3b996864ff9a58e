"""Distributed search: Ray Tune trials chosen by multi-objective Optuna samplers.

Data flow: space -> :mod:`samplers` (Optuna, sized to the budget) -> :mod:`searcher` (a Tune
searcher over an Optuna study's ask and tell, screening FLOPs budget and repeats before dispatch) -> :mod:`worker` (the Tune trainable: proxy
trial, reports per epoch) -> :mod:`scheduler` (optional Pareto successive halving) ->
:mod:`recorder` (the driver, the only writer of the store) -> :mod:`progress` (one live line).
:mod:`launch` wires them; :mod:`cluster` starts or joins Ray.
"""
