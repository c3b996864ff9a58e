"""Fixtures of the analysis tests: a planted table written to a store through its public API."""

from __future__ import annotations

import pandas as pd
import pytest
from configs import configuration
from planted_tables import PARAMS, chain_flops


@pytest.fixture
def write_table(tmp_path):
    """``write_table(frame, name="planted", kind="table", budget="proxy")`` -> a SQLite URL holding
    ``frame`` as a search written through the store's public API (accuracy points -> fraction)."""
    from octsearch.store import SearchSpec, open_store

    url = f"sqlite:///{tmp_path / 'store.db'}"

    def write(frame: pd.DataFrame, name: str = "planted", kind: str = "table", budget: str = "proxy") -> str:
        with open_store(url) as store:
            store.create_search(SearchSpec(
                name=name, space_text=f"planted table {name}\n", model_name="oct_resnet20",
                model_args={"num_classes": 10, "in_chans": 1, "input_size": 28}, reference_accuracy=0.1,
                reference_flops=chain_flops(0, 0, 0, 0), kind=kind), exist_ok=True)
            numbers: dict[int, int] = {}
            alphas = frame[list(PARAMS)].to_numpy(dtype=float)
            for k, (trial, seed, accuracy, flops) in enumerate(frame[["trial", "seed", "accuracy", "flops"]].itertuples(
                    index=False, name=None)):
                if trial not in numbers:
                    numbers[trial] = store.start_trial(name, configuration(
                        dict(zip(PARAMS, alphas[k], strict=True)), flops_paper=int(flops),
                        flops_all=int(flops) + 1000, param_count=135_000))
                store.record_evaluation(name, numbers[trial], seed=int(seed), accuracy=accuracy / 100,
                                        n_val=500, budget=budget)
        return url

    return write
