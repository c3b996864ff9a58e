"""pandas views of trial records (pandas is imported only here, on demand)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from typing import TYPE_CHECKING

from octsearch.store.records import TrialRecord

if TYPE_CHECKING:
    import pandas as pd


def records_frame(records: Sequence[TrialRecord]) -> pd.DataFrame:
    """One row per trial; ``alphas`` spread into ``alpha.<slot>`` columns in slot order.

    Units: accuracy is a fraction of the validation split, FLOPs are multiply-adds.
    """
    import pandas as pd

    rows = []
    for record in records:
        row = asdict(record)
        alphas = row.pop("alphas")
        row.pop("config")
        row.update({f"alpha.{slot}": alpha for slot, alpha in alphas.items()})
        rows.append(row)
    columns = [f for f in TrialRecord.__dataclass_fields__ if f not in ("alphas", "config")]
    frame = pd.DataFrame(rows, columns=None if rows else columns)
    return frame.set_index("number", drop=False) if rows else frame
