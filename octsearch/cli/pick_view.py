"""The model's pick in words and data: what ``export --model-best`` prints and adds to the file.

Units: predicted and observed accuracy in % of the validation split (points), the margin over the
runner-up in points of it; FLOPs bounds in multiply-adds (1 FMA = 1 FLOP, batch 1) in the search's
convention. The statistics are :mod:`octsearch.analysis.pick`'s; this module only words them.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from octsearch.cli._format import gflops
from octsearch.cli.effects_view import finite, p_text

if TYPE_CHECKING:
    from octsearch.analysis.pick import ModelPick

CHOSEN_BY = "the model of the search (octsearch effects): highest predicted accuracy within the FLOPs bound"
UNITS = {
    "predicted": "points of validation accuracy (percent of the split), the model's mean at the trial's FLOPs",
    "observed": "points of validation accuracy, the mean of the trial's modelled evaluations",
    "margin": "points of validation accuracy: the pick's prediction minus the runner-up's",
    "max_flops": "multiply-adds of one forward pass at batch 1 (1 FMA = 1 FLOP), the search's convention",
}


def _runner_up(p: ModelPick) -> str:
    if p.runner_up is None or p.margin is None:
        return "no other configuration fits the bound"
    m = p.margin
    told = "ahead at 5%" if m.p < 0.05 else "the model cannot tell them apart at 5%"
    return (f"runner-up trial {p.runner_up.trial} predicted {p.runner_up.predicted:.2f} ± {p.runner_up.se:.2f}; "
            f"pick minus runner-up {m.estimate:+.2f} ± {m.se:.2f} points (p {p_text(m.p)}: {told})")


def pick_line(p: ModelPick, db: str | None = None) -> str:
    """'chosen by the model: trial 4 predicted 94.43 ± 0.29 % val acc ...' in one line."""
    details = f"octsearch effects {p.search}" + (f" --db {db}" if db else "")
    extrapolated = " (FLOPs outside the fitted range: extrapolated)" if p.prediction.extrapolated else ""
    return (f"chosen by the model ({details}): trial {p.trial} predicted {p.prediction.predicted:.2f} ± "
            f"{p.prediction.se:.2f} % val acc at {gflops(p.prediction.flops)} GFLOPs{extrapolated}, the best of "
            f"{p.candidates} evaluated configuration(s) within {gflops(p.max_flops)} GFLOPs (model of "
            f"{p.n_evaluations} evaluations at budget {p.budget}; its own mean {p.observed:.2f}% over "
            f"{p.n_trial_evaluations}); {_runner_up(p)}")


def selection_json(p: ModelPick) -> dict[str, Any]:
    """The rule as data, for the export file's ``selection`` key (bound in multiply-adds)."""
    return {"rule": "model_best", "max_flops": p.max_flops, "chosen_by": CHOSEN_BY}


def pick_json(p: ModelPick) -> dict[str, Any]:
    """Every number of the pick (points, multiply-adds), for the export file's ``model_choice`` key."""
    return finite({**asdict(p), "chosen_by": CHOSEN_BY, "in_words": pick_line(p), "units": UNITS})
