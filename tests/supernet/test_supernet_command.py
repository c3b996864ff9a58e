"""``octsearch supernet``: a Ray trial trains and scores every configuration into the store; a rerun
has nothing left to do; bad input is one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from octsearch.cli.main import main
from octsearch.store import open_store

SPACE = """\
description: supernet command test space
model: {name: oct_resnet20, args: {width_mult: 0.25}}
data: {name: mnist, seed: 0, val_fraction: 0.25, limit: 240}
search:
  grid: [0, 0.5]
  fixed: 0
  params:
    stage1.out: {slots: [stage1.out]}
    stage2.out: {slots: [stage2.out]}
budget: {epochs: 1, batch_size: 60, optimizer: {name: sgd, lr: 0.05, momentum: 0.9}, seed: 0, threads: 1}
sampler: {name: random, trials: 4, concurrency: 1}
"""


@pytest.mark.slow
def test_supernet_command_scores_every_configuration_once(tmp_path: Path, capsys):
    space = tmp_path / "tiny.yaml"
    space.write_text(SPACE)
    db = f"sqlite:///{tmp_path / 'sn.db'}"
    args = ["supernet", str(space), "--name", "sn", "--epochs", "1", "--random", "1", "--calibration-images", "100",
            "--checkpoint", str(tmp_path / "sn.pt"), "--db", db]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "4 configuration(s) scored" in out and "stored at budget 'supernet'" in out
    with open_store(db) as store:
        assert store.budgets("sn") == {"supernet": 4}
        assert {e.n_val for e in store.evaluations("sn", budget="supernet")} == {60}
    assert main(args) == 0
    assert "already scored" in capsys.readouterr().out

    assert main([*args[:-2], "--db", db, "--random", "-1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("octsearch: error: sandwich random configurations -1") and "\n" not in err

    other = tmp_path / "other.yaml"
    other.write_text(SPACE.replace("limit: 240", "limit: 200"))
    assert main(["supernet", str(other), "--name", "other", "--epochs", "1", "--random", "1",
                 "--checkpoint", str(tmp_path / "sn.pt"), "--db", db]) == 2
    err = capsys.readouterr().err.strip()
    assert "is of space 'tiny'" in err and "nothing loaded" in err
