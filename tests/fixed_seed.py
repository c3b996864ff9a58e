"""A fixed-seed search and a dump of what it stores, to compare the stored results of two versions.

`python tests/fixed_seed.py OUT.json` runs the search and writes the dump; the golden file
tests/search/golden/fixed_seed_search.json was written by the code before the redesign (commit 73068e6) on a 2-core AVX2
machine, and `test_fixed_seed_search.py` checks that the code of today stores the same.

The dump reads the SQLite file with the standard library, not through the store, so that it does
not depend on the store's Python API. It leaves out what legitimately differs between two runs:
times, node names, database ids and error texts.
"""

from __future__ import annotations

import json
import sqlite3
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from search_helpers import run_cli, write_space  # noqa: E402

NAME = "fixed"
# (0, 0) is over this budget: the search records one infeasible configuration.
FLOPS_BUDGET_GFLOPS = "0.0075"
ARGS = ("--trials", "7", "--concurrency", "1", "--seed", "3", "--repeats", "1")


def run_search(folder: Path) -> Path:
    """Run the fixed-seed search in `folder`; return its SQLite file."""
    space = write_space(folder, name="fixed", epochs=1, flops_budget=FLOPS_BUDGET_GFLOPS)
    db = folder / "fixed.db"
    proc = run_cli("launch", str(space), "--name", NAME, *ARGS, "--db", f"sqlite:///{db}",
                   "--results-dir", str(folder / "tune"), timeout=600)
    if proc.returncode != 0:
        raise RuntimeError(f"fixed-seed search failed:\n{proc.stdout}\n{proc.stderr}")
    return db


_TRIAL_COLUMNS = ("number", "status", "configuration", "flops_paper", "flops_all", "param_count",
                  "accuracy", "accuracy_stderr", "n_evals", "is_uniform", "uniform_alpha", "on_front")
_EVAL_COLUMNS = ("seed", "budget", "accuracy", "n_val", "stderr", "epoch_accuracies")


def dump(db: Path) -> dict:
    """Every stored trial and evaluation of the search, as plain JSON values."""
    con = sqlite3.connect(db)
    try:
        (search_id,) = con.execute("SELECT id FROM octsearch_searches WHERE name = ?", (NAME,)).fetchone()
        trials = []
        rows = con.execute(f"SELECT id, {', '.join(_TRIAL_COLUMNS)} FROM octsearch_trials "
                           "WHERE search_id = ? ORDER BY number", (search_id,)).fetchall()
        for trial_id, *values in rows:
            trial = dict(zip(_TRIAL_COLUMNS, values, strict=True))
            # the golden file predates the one configuration column: its two views, and the
            # parameter count under its old column name, so that the same search gives the same file
            configuration = json.loads(trial.pop("configuration"))
            trial["config"], trial["alphas"] = configuration["params"], configuration["alphas"]
            trial["params_count"] = trial.pop("param_count")
            trial["is_uniform"], trial["on_front"] = bool(trial["is_uniform"]), bool(trial["on_front"])
            evals = con.execute(f"SELECT {', '.join(_EVAL_COLUMNS)} FROM octsearch_evaluations "
                                "WHERE trial_id = ? ORDER BY seed, budget", (trial_id,)).fetchall()
            trial["evaluations"] = [_evaluation(e) for e in evals]
            trials.append(trial)
        return {"trials": trials}
    finally:
        con.close()


def _evaluation(row: tuple) -> dict:
    out = dict(zip(_EVAL_COLUMNS, row, strict=True))
    out["epoch_accuracies"] = json.loads(out["epoch_accuracies"]) if out["epoch_accuracies"] else None
    return out


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        result = dump(run_search(Path(tmp)))
    Path(sys.argv[1]).write_text(json.dumps(result, indent=1, sort_keys=True) + "\n")
