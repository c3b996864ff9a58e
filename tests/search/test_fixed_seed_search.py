"""The redesign kept what a search stores: a fixed-seed search stores what the code before it did.

The golden file was written by the code before the redesign (commit 73068e6); see fixed_seed.py.
With one torch thread and fixed seeds, training is reproducible on one machine (two runs gave
byte-identical dumps on the 2-core AVX2 machine that wrote it), but not across CPUs: torch's CPU
kernels take other code paths on another vendor's chip (an AMD EPYC here, 2026-12-07, gave one
evaluation one validation image more: 0.225 against 0.2125 of 80). So everything is compared
exactly except the accuracies, which may differ by up to ACCURACY_IMAGES validation images per
evaluation; the trial's mean and its standard error follow from them and are checked the same way.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fixed_seed import dump, run_search

GOLDEN = Path(__file__).parent / "golden" / "fixed_seed_search.json"


# One deliberate change: the store now marks a uniform configuration as uniform whatever its status
# (the code before marked only dispatched ones, so an infeasible uniform point was "not uniform").
FIXED = ("is_uniform", "uniform_alpha")
ACCURACY_IMAGES = 2  # validation images an evaluation may differ by between two CPUs
SCORES = ("accuracy", "accuracy_stderr")


@pytest.mark.slow
def test_fixed_seed_search_stores_what_the_code_before_the_redesign_stored(tmp_path):
    expected = json.loads(GOLDEN.read_text())
    got = dump(run_search(tmp_path))
    assert [t["status"] for t in got["trials"]] == [t["status"] for t in expected["trials"]]
    for mine, theirs in zip(got["trials"], expected["trials"], strict=True):
        if theirs["status"] == "infeasible":
            alphas = set(theirs["config"].values())
            assert (mine["is_uniform"], mine["uniform_alpha"]) == (len(alphas) == 1, alphas.pop() if len(alphas) == 1 else None)
            mine, theirs = ({k: v for k, v in t.items() if k not in FIXED} for t in (mine, theirs))
        assert _exact(mine) == _exact(theirs), f"trial {theirs['number']} differs"
        for a, b in zip(mine["evaluations"], theirs["evaluations"], strict=True):
            assert abs(a["accuracy"] - b["accuracy"]) <= ACCURACY_IMAGES / b["n_val"] + 1e-12, (theirs["number"], a, b)
        for key in SCORES:
            if theirs[key] is None:
                assert mine[key] is None
            else:  # a mean of evaluations, and its standard error, moved by at most as much
                assert abs(mine[key] - theirs[key]) <= ACCURACY_IMAGES / min(e["n_val"] for e in theirs["evaluations"]), key


def _exact(trial: dict) -> dict:
    """A trial's dump without its scores (evaluations keep everything but their accuracy)."""
    out = {k: v for k, v in trial.items() if k not in SCORES}
    out["evaluations"] = [{k: v for k, v in e.items() if k not in ("accuracy", "stderr", "epoch_accuracies")}
                          for e in trial["evaluations"]]
    return out
