"""pandas views of trial records (pandas is imported only here, on demand)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from octsearch.store.records import TrialRecord

if TYPE_CHECKING:
    import pandas as pd

# a trial's columns before its alphas: the record's fields and its configuration's cost and uniform views
COLUMNS = ("search", "number", "flops_paper", "flops_all", "param_count", "latency_ms", "status", "error",
           "accuracy", "accuracy_stderr", "n_evals", "is_uniform", "uniform_alpha", "node", "started_at",
           "finished_at", "train_seconds", "on_front", "budget")


def records_frame(records: Sequence[TrialRecord]) -> pd.DataFrame:
    """One row per trial; ``alphas`` spread into ``alpha.<slot>`` columns in slot order.

    Units: accuracy is a fraction of the validation split, FLOPs are multiply-adds.
    """
    import pandas as pd

    rows = [{**{c: getattr(record, c) for c in COLUMNS},
             **{f"alpha.{slot}": alpha for slot, alpha in record.configuration.by_slot.items()}} for record in records]
    frame = pd.DataFrame(rows, columns=None if rows else list(COLUMNS))
    return frame.set_index("number", drop=False) if rows else frame
