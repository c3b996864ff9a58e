"""The model's design where the data are thin: FLOPs terms the alphas fix, a parameter never at
alpha 0, a parameter never varied."""

from __future__ import annotations

import numpy as np
from planted_tables import PARAMS, planted_table

from octsearch.analysis.effects import effects_of
from octsearch.analysis.model import fit
from octsearch.analysis.pipeline import model_text


def test_flops_terms_the_alphas_fix_are_dropped_and_said():
    frame = planted_table(np.random.default_rng(11), seeds=4)
    others = [p for p in PARAMS if p != "stage1.inner"]
    alone = frame[(frame[others] == 0).all(axis=1)]  # stage1.inner alone varies: it fixes FLOPs
    fitted = fit(alone, PARAMS)
    assert fitted.design.flops_degree == 0 and fitted.design.fixed == tuple(others)
    assert "not at equal FLOPs" in model_text(0, "conv+fc")
    assert [e.parameter for e in effects_of(fitted)] == ["stage1.inner", "stage1.inner"]


def test_a_parameter_never_at_alpha_zero_is_measured_against_its_lowest_alpha():
    frame = planted_table(np.random.default_rng(12))
    effects = effects_of(fit(frame[frame["stage2.out"] > 0], PARAMS))
    stage2_out = [e for e in effects if e.parameter == "stage2.out"]
    assert [(e.alpha, e.reference) for e in stage2_out] == [(0.5, 0.25)]
    assert all(e.reference == 0 for e in effects if e.parameter != "stage2.out")
