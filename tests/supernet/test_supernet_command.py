"""``octsearch supernet``: a Ray trial trains and scores every configuration into the store; a rerun
has nothing left to do; bad input is one line."""

from __future__ import annotations

from pathlib import Path

import pytest
from supernet_spaces import two_alpha_space

from octsearch.cli.main import main
from octsearch.store import open_store

SPACE = two_alpha_space("supernet command test space")


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
