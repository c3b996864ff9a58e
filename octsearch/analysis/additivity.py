"""Do the effects add up? A test of every pairwise interaction, kept out of the effects model.

The effects model is additive. Pairwise interactions (one term per pair of alphas of two
parameters) would let one parameter's effect depend on another's alpha, at the price of many terms
(24 for 4 parameters x 3 alphas) whose estimates the noise swamps. They are not modelled; instead
the additive model is tested against the model with every pairwise interaction the data hold
(an alpha pair drawn at least once), by the classic nested F-test on the same evaluations. A small p
says the effects are averages over the other parameters' alphas, not constants. The test is
skipped, with the reason, where the evaluations cannot carry the interaction terms.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from typing import TYPE_CHECKING

import numpy as np

from octsearch.analysis.model import MIN_SPARE

if TYPE_CHECKING:
    from octsearch.analysis.model import Fitted


@dataclass(frozen=True)
class Additivity:
    """The F-test of ``terms`` pairwise interaction terms added to the additive model (None where
    not tested: ``note`` says why)."""

    terms: int
    statistic: float | None = None
    df: tuple[int, int] | None = None
    p: float | None = None
    note: str = ""

    @property
    def tested(self) -> bool:
        return self.p is not None


def check_additivity(fitted: Fitted) -> Additivity:
    import statsmodels.formula.api as smf

    data = fitted.data.copy()
    pairs = [(a, b) for a, b in combinations(fitted.design.columns, 2)
             if fitted.design.columns[a][0] != fitted.design.columns[b][0]]
    terms = []
    for k, (a, b) in enumerate(pairs):
        product = data[a] * data[b]
        if product.any():
            data[f"x{k}"] = product
            terms.append(f"x{k}")
    if not terms:
        return Additivity(0, note="no two parameters vary together: nothing to test")
    spare = fitted.classic.df_resid - len(terms)
    if spare < MIN_SPARE:
        return Additivity(len(terms), note=f"{len(terms)} interaction terms exceed what "
                          f"{int(fitted.classic.nobs)} evaluations can carry beside the additive model")
    full = smf.ols(fitted.design.formula + " + " + " + ".join(terms), data=data)
    if np.linalg.matrix_rank(full.exog) < full.exog.shape[1]:
        return Additivity(len(terms), note="the configurations do not separate the interaction terms "
                          "from the FLOPs term and the effects")
    result = full.fit()
    statistic, p, df_diff = result.compare_f_test(fitted.classic)
    return Additivity(len(terms), float(statistic), (int(df_diff), int(result.df_resid)), float(p))
