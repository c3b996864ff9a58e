"""Fixtures of the analysis tests: a planted table written to a store through its public API."""

from __future__ import annotations

import pandas as pd
import pytest
from planted_tables import write_planted


@pytest.fixture
def write_table(tmp_path):
    """``write_table(frame, name="planted", kind="table", budget="proxy")`` -> a SQLite URL holding
    ``frame`` as a search written through the store's public API (accuracy points -> fraction)."""
    url = f"sqlite:///{tmp_path / 'store.db'}"

    def write(frame: pd.DataFrame, name: str = "planted", kind: str = "table", budget: str = "proxy") -> str:
        return write_planted(url, frame, name, kind, budget)

    return write
