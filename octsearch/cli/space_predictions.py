"""``effects --predictions``: the model's predicted accuracy +/- SE for every configuration of a
search's finite space, evaluated or not, and the model-based front.

The space comes back from the text the search stored (as the driver rebuilds it). A configuration
the search evaluated keeps its stored FLOP count; every other one is counted here with the space's
cost model (fvcore's rules, through torch: about 0.04 s a configuration for the shipped spaces). That
count is why this lives in the CLI and not in :mod:`octsearch.analysis`, which stays free of torch;
spaces above :data:`MAX_CONFIGURATIONS` are refused rather than counted for minutes.

Units: predictions and SEs in points of validation accuracy (percent of the split), FLOPs in
multiply-adds at batch 1 (1 FMA = 1 FLOP) in the search's convention.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from octsearch.cli._format import gflops, table
from octsearch.cli.effects_view import alpha_text
from octsearch.errors import ConfigError

if TYPE_CHECKING:
    from octsearch.analysis.pipeline import SearchModel
    from octsearch.analysis.predict import Prediction
    from octsearch.store import SearchRecord, Store

MAX_CONFIGURATIONS = 5000


@dataclass(frozen=True)
class SpacePredictions:
    """Every configuration's prediction (``predictions``, space order), those the model cannot
    predict with the reason (``unpredicted``: parameter -> alpha pairs, reason), how many FLOP counts
    were made here (``counted``), and the trial numbers of the model-based front (``front``)."""

    predictions: tuple[Prediction, ...]
    unpredicted: tuple[tuple[tuple[tuple[str, float], ...], str], ...]
    counted: int
    front: tuple[int, ...]  # indices into predictions


def space_predictions(store: Store, record: SearchRecord, model: SearchModel) -> SpacePredictions:
    """Predict every configuration of the search's space (reads the store; counts FLOPs with torch)."""
    import pandas as pd

    from octsearch.analysis.predict import predict, unpredicted
    from octsearch.pareto import non_dominated
    from octsearch.spaces.load import space_from_text
    from octsearch.spaces.remaining import every_configuration

    try:
        space = space_from_text(record.space_text, record.name)
    except ConfigError as e:
        raise ConfigError(f"search {record.name!r}: its stored space cannot be read back ({e}); --predictions "
                          "needs the space to list the configurations it never evaluated") from None
    if space.num_configurations > MAX_CONFIGURATIONS:
        raise ConfigError(f"search {record.name!r}: its space has {space.num_configurations:,} configurations; "
                          f"--predictions lists at most {MAX_CONFIGURATIONS:,} (each unevaluated one is counted with "
                          "fvcore)")
    stored = {t.configuration.key: t for t in store.trials(record.name)}
    rows, skipped, counted = [], [], 0
    for cfg in every_configuration(space):
        trial = stored.get(cfg.key)
        flops = None if trial is None else getattr(trial, record.flops_key)
        if flops is None:
            flops, counted = space.flops(cfg), counted + 1
        why = unpredicted(model.fitted, cfg.by_param)
        if why is None:
            rows.append({"trial": None if trial is None else trial.number, **cfg.by_param, "flops": float(flops)})
        else:
            skipped.append((tuple(cfg.params), why))
    predictions = predict(model.fitted, pd.DataFrame(rows))
    front = non_dominated([(p.predicted, p.flops) for p in predictions], ["max", "min"])
    return SpacePredictions(predictions, tuple(skipped), counted, tuple(sorted(front, key=lambda i: predictions[i].flops)))


def prediction_rows(sp: SpacePredictions, observed: Mapping[int, tuple[float, int]]) -> list[dict[str, Any]]:
    """One CSV row per configuration (units in the column names); ``observed`` maps a trial to the
    mean of its modelled evaluations (points) and their number."""
    on_front = set(sp.front)
    rows = []
    for i, p in enumerate(sp.predictions):
        mean, n = observed.get(p.trial, (None, 0))  # type: ignore[arg-type]
        rows.append({"trial": p.trial, **dict(p.alphas), "flops_multiply_adds": int(p.flops),
                     "predicted_points": p.predicted, "se_points": p.se, "se_cluster_points": p.se_cluster,
                     "se_classic_points": p.se_classic, "flops_extrapolated": p.extrapolated,
                     "observed_mean_points": mean, "n_evaluations": n, "on_model_front": i in on_front,
                     "unpredicted": ""})
    for alphas, why in sp.unpredicted:
        rows.append({"trial": None, **dict(alphas), "unpredicted": why})
    return rows


def front_text(sp: SpacePredictions, observed: Mapping[int, tuple[float, int]], flops_label: str) -> str:
    """The model-based front as a table, with what the rows are (``observed``: see :func:`prediction_rows`)."""
    rows = []
    for i in sp.front:
        p = sp.predictions[i]
        rows.append({"trial": "-" if p.trial is None else str(p.trial),
                     "alphas (parameter order)": " ".join(alpha_text(a) for _, a in p.alphas),
                     f"GFLOPs ({flops_label} MACs)": gflops(p.flops),
                     "predicted val acc % (±se)": f"{p.predicted:.2f} ± {p.se:.2f}",
                     "evaluated mean % (n)": "-" if p.trial not in observed else
                     f"{observed[p.trial][0]:.2f} ({observed[p.trial][1]})"})
    skipped = f"; {len(sp.unpredicted)} not predicted (an alpha the model never estimated)" if sp.unpredicted else ""
    head = (f"model-based front: the configurations no other beats in predicted validation accuracy at no more FLOPs, "
            f"among all {len(sp.predictions) + len(sp.unpredicted)} of the space ({len(sp.predictions)} predicted, {sp.counted} FLOP counts made here with "
            f"the space's cost model{skipped}; predicted accuracy in % of the validation split, the mean seed)")
    return "\n".join([head, table(rows)])
