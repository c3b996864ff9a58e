"""Calibrating a space's proxy budget for signal: a pilot over a budget ladder, and what each rung resolves.

Data flow: space -> :mod:`~.ladder` (rungs: epochs, training and validation images, a moving
average of the weights; each rung's space) and :mod:`~.design` (the uniform points plus a balanced
design) -> :mod:`~.pilot` (the runs on Ray, stored under each rung's budget label, resumable) ->
:mod:`~.report` (seed SD, seed-to-seed tau, the effect a search of the space's size resolves,
seconds a trial; the cheapest rung that resolves the target) -> :mod:`~.write` (the rung written
into a space file, comments kept). ``octsearch calibrate`` is the command.
"""
