"""How precisely the pooled model estimates effects from a search of a given size, per point of noise.

A search of ``trials`` evaluations, one seed each, is modelled by :mod:`octsearch.analysis.model`
(quadratic in log FLOPs + one effect per parameter and alpha). An effect's standard error is the
noise SD times a factor that depends only on which configurations were evaluated (the classic OLS
SE is sigma x sqrt of a diagonal element of (X'X)^-1). That factor is taken from statsmodels itself:
the model is fit on the search-sized design with unit-variance noise as accuracies, and each
effect's classic SE is divided by the fit's own residual SD.

The design is the best case for a search of that size: the uniform-alpha points plus a balanced
Latin hypercube (:func:`~octsearch.calibrate.design.balanced_design`) for the remaining trials, so
every alpha of every parameter is evaluated about equally often. A sampler that concentrates on the
front spreads its evaluations less evenly, and its effects are known less well.
"""

from __future__ import annotations

import statistics

import numpy as np

from octsearch.calibrate.design import balanced_design
from octsearch.errors import ConfigError
from octsearch.spaces.space import SearchSpace

RULE = ("SE of a search = a rung's seed SD x the median over effects of the classic OLS SE per unit noise of "
        "the pooled model fit on a search-sized design (the uniform points + a balanced Latin hypercube, one "
        "seed each): the best case for that many trials, assuming the additive model fits")


def unit_se(space: SearchSpace, trials: int, seed: int = 0) -> float:
    """The median SE of the model's effects, per point of noise SD, for a search of ``trials``
    evaluations of ``space`` (see the module docstring)."""
    import pandas as pd

    from octsearch.analysis.model import fit

    uniform = space.uniform_configurations()
    rest = max(0, trials - len(uniform))
    rows = [space.from_indices(row) for row in (balanced_design(space, rest, seed).rows if rest else ())]
    configurations = (uniform + rows)[:trials]
    names = space.param_names
    noise = np.random.default_rng(seed).standard_normal(len(configurations))
    frame = pd.DataFrame([(i, 0, float(noise[i]), float(space.flops(c)), *(c.by_param[p] for p in names))
                          for i, c in enumerate(configurations)],
                         columns=["trial", "seed", "accuracy", "flops", *names])
    try:
        fitted = fit(frame, names, f"a search of {trials} trials")
    except ConfigError as e:
        raise ConfigError(f"--trials {trials}: {e}") from None
    classic = fitted.classic
    scale = float(np.sqrt(classic.scale))
    return statistics.median(float(classic.bse[c]) / scale for c in fitted.design.columns)
