"""The budget ladder: rungs parsed over the space's budget, labels that state them, one-line refusals."""

from __future__ import annotations

from pathlib import Path

import pytest
from search_helpers import run_cli

from octsearch.calibrate.ladder import Rung, default_ladder, parse_ladder, parse_rung, rung_space
from octsearch.errors import ConfigError
from octsearch.spaces import load_space

BASE = Rung(epochs=2, train=4000, val=1000, ema=0.0)
SPACE = """\
model: {name: oct_resnet20, args: {width_mult: 0.5}}
data: {name: digits, seed: 0, val_fraction: 0.25, limit: 400, image_size: 16, options: {resize: pad}}
search: {grid: [0, 0.5], params: {stage1.out: {slots: [stage1.out]}}}
budget: {epochs: 1, batch_size: 32, optimizer: {name: sgd, lr: 0.05}, threads: 1}
"""


def test_a_rung_changes_only_what_it_names_and_its_label_states_every_setting():
    rung = parse_rung(" epochs=1, ema=0.99 ", BASE)
    assert rung == Rung(1, 4000, 1000, 0.99)
    assert rung.label == "epochs=1,train=4000,val=1000,ema=0.99"
    assert parse_rung("", BASE) == BASE and BASE.label == "epochs=2,train=4000,val=1000,ema=0"
    assert parse_rung("train=3000,val=2000", BASE) == Rung(2, 3000, 2000, 0.0)
    assert [r.label for r in default_ladder(BASE)] == [
        "epochs=2,train=4000,val=1000,ema=0", "epochs=2,train=4000,val=1000,ema=0.99",
        "epochs=1,train=4000,val=1000,ema=0", "epochs=4,train=4000,val=1000,ema=0"]


@pytest.mark.parametrize(("text", "message"), [
    ("epochs=0", "rung 'epochs=0': epochs='0' is out of range; accepted: epochs=<an integer from 1 to 1000>"),
    ("epochs=1.5", "epochs='1.5' is out of range; accepted: epochs=<an integer from 1 to 1000>"),
    ("ema=1", "ema='1' is out of range; accepted: ema=<a decay in [0, 1) (0: off)>"),
    ("ema=nan", "ema='nan' is out of range"),
    ("val=3", "val='3' is out of range; accepted: val=<an integer from 10 to 10,000,000 (validation images)>"),
    ("lr=0.1", "'lr=0.1' is not a rung setting; accepted: epochs=<an integer from 1 to 1000>, train=<"),
    ("epochs", "'epochs' is not a rung setting"),
])
def test_a_bad_rung_is_refused_naming_the_value_and_what_is_accepted(text, message):
    with pytest.raises(ConfigError) as error:
        parse_rung(text, BASE)
    assert message in str(error.value) and "\n" not in str(error.value)


def test_a_rung_given_twice_is_refused():
    with pytest.raises(ConfigError, match=r"rung epochs=1,train=4000,val=1000,ema=0 is given twice"):
        parse_ladder(("epochs=1", "epochs=1,ema=0"), BASE)


def test_a_rung_space_trains_at_the_rung(tmp_path: Path):
    path = tmp_path / "s.yaml"
    path.write_text(SPACE)
    space = load_space(path)
    base = Rung(1, 300, 100, 0.0)
    trained = rung_space(space, Rung(3, 200, 200, 0.9), base)
    assert (trained.budget().epochs, trained.budget().ema) == (3, 0.9)
    data = trained.data.load()
    assert (data.num_train, data.num_val) == (200, 200)
    same_split = rung_space(space, Rung(2, 300, 100, 0.0), base)
    assert same_split.spec.data == space.spec.data and same_split.budget().epochs == 2


@pytest.mark.parametrize(("rung", "message"), [
    ("epochs=2000", "rung 'epochs=2000': epochs='2000' is out of range; accepted: epochs=<an integer from 1 to 1000>"),
    ("momentum=0.5", "rung 'momentum=0.5': 'momentum=0.5' is not a rung setting; accepted: epochs="),
    ("train=5000", "rung epochs=1,train=5000,val=100,ema=0: train=5000 + val=100 images, but data set digits holds 1,797; "
                   "accepted: train + val <= 1,797"),
])
def test_the_command_refuses_a_bad_ladder_in_one_line_before_anything_is_stored(tmp_path: Path, rung, message):
    path = tmp_path / "s.yaml"
    path.write_text(SPACE)
    db = tmp_path / "store.db"
    proc = run_cli("calibrate", str(path), "--rung", rung, "--db", f"sqlite:///{db}", timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and message in proc.stderr, proc.stderr
    assert not db.exists()
