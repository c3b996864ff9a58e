"""Distributed search: Ray Tune trials chosen by multi-objective Optuna samplers.

Data flow: space -> :mod:`samplers` (Optuna, sized to the budget) -> :mod:`searcher` (a Tune
searcher over an Optuna study's ask and tell; the :mod:`driver` screens each draw against the FLOPs
budget and the store, and decides what runs next) -> :mod:`worker` (the Tune trainable: one proxy
trial; :mod:`messages` are what it is sent and what it reports) -> :mod:`scheduler` (optional
Pareto successive halving; the stop on Ctrl-C) -> :mod:`recorder` (Tune's events to the driver,
the only writer of the store). :mod:`launch` registers the search and wires the parts, :mod:`tuner`
runs Tune, :mod:`replay` the same search on a table in simulated time; :mod:`cluster` starts or
joins Ray and :mod:`devices` checks what its nodes can run; :mod:`study` and :mod:`study_history`
keep the sampler's Optuna study in the store's database.
"""
