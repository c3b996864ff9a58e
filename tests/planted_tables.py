"""Planted tables for the model of a search: known additive effects, a FLOPs curve, seed noise.

A table here is every configuration of four parameters over alpha {0, .25, .5} (81) at a few seeds,
shaped like bench/tables/mnist81.db: the parameters are the residual stream and the block
interiors of two stages, and FLOPs come from a chain of OctConvs between them (each convolution
costs (1 - a_in)(1 - a_out) + (a_in + a_out - a_in a_out) / 4 of its alpha-0 count), so FLOPs are
not additive in the alphas and the model can tell its FLOPs term from the effects.

Accuracy (points) = 93 + 3 lf - 4 lf^2 + planted effects + 0.3 x seed + N(0, noise^2), with lf the
centred log FLOPs and noise 1.3 points (mnist81's seed SD is 1.37).
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

PARAMS = ("stage1.out", "stage1.inner", "stage2.out", "stage2.inner")
ALPHAS = (0.0, 0.25, 0.5)
# parameter -> alpha -> planted effect in points (alpha 0 is the reference: 0)
PLANTED = {
    "stage1.out": {0.25: -0.5, 0.5: -1.5},
    "stage1.inner": {0.25: 0.0, 0.5: -0.8},
    "stage2.out": {0.25: 0.5, 0.5: 0.0},
    "stage2.inner": {0.25: 0.0, 0.5: 0.0},
}
NULL = {p: {} for p in PARAMS}
NOISE = 1.3
CONFIGS = list(itertools.product(ALPHAS, repeat=len(PARAMS)))


def _conv(a_in: float, a_out: float) -> float:
    return (1 - a_in) * (1 - a_out) + (a_in + a_out - a_in * a_out) / 4


def chain_flops(s1o: float, s1i: float, s2o: float, s2i: float) -> int:
    """Multiply-adds of a two-stage chain: stem -> 3 blocks of stage 1 -> 3 blocks of stage 2 -> fc."""
    units = (0.5 * _conv(0, s1o) + 3 * (_conv(s1o, s1i) + _conv(s1i, s1o)) + 0.5 * _conv(s1o, s2i)
             + _conv(s2i, s2o) + 2 * (_conv(s2o, s2i) + _conv(s2i, s2o)) + _conv(s2o, 0))
    return int(round(600_000 * units))


FLOPS = np.array([chain_flops(*c) for c in CONFIGS], dtype=float)
LF = np.log(FLOPS) - np.log(FLOPS).mean()


def planted_table(rng: np.random.Generator, effects: dict[str, dict[float, float]] = PLANTED,
                  seeds: int = 2, noise: float = NOISE) -> pd.DataFrame:
    """One simulated table in the frame the model reads (accuracy in points)."""
    alphas = np.array(CONFIGS)
    mean = 93 + 3 * LF - 4 * LF**2
    for j, param in enumerate(PARAMS):
        for alpha, effect in effects[param].items():
            mean = mean + effect * (alphas[:, j] == alpha)
    frames = []
    for seed in range(seeds):
        accuracy = mean + 0.3 * seed + rng.normal(0, noise, len(CONFIGS))
        frame = pd.DataFrame({"trial": np.arange(len(CONFIGS)), "seed": seed, "accuracy": accuracy, "flops": FLOPS})
        frames.append(frame.assign(**{p: alphas[:, j] for j, p in enumerate(PARAMS)}))
    return pd.concat(frames, ignore_index=True)


def write_planted(url: str, frame: pd.DataFrame, name: str = "planted", kind: str = "table",
                  budget: str = "proxy") -> str:
    """``frame`` (a planted table) stored at ``url`` as search ``name`` through the store's public
    API (accuracy points -> fraction); returns ``url``."""
    from configs import configuration

    from octsearch.store import SearchSpec, open_store

    with open_store(url) as store:
        store.create_search(SearchSpec(
            name=name, space_text=f"planted table {name}\n", model_name="oct_resnet20",
            model_args={"num_classes": 10, "in_chans": 1, "input_size": 28}, reference_accuracy=0.1,
            reference_flops=chain_flops(0, 0, 0, 0), kind=kind), exist_ok=True)
        numbers: dict[int, int] = {}
        alphas = frame[list(PARAMS)].to_numpy(dtype=float)
        rows = frame[["trial", "seed", "accuracy", "flops"]].itertuples(index=False, name=None)
        for k, (trial, seed, accuracy, flops) in enumerate(rows):
            if trial not in numbers:
                numbers[trial] = store.start_trial(name, configuration(
                    dict(zip(PARAMS, alphas[k], strict=True)), flops_paper=int(flops),
                    flops_all=int(flops) + 1000, param_count=135_000))
            store.record_evaluation(name, numbers[trial], seed=int(seed), accuracy=accuracy / 100,
                                    n_val=500, budget=budget)
    return url
