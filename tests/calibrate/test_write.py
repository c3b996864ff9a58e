"""Writing a rung into a space file's text: values set, comments kept, an earlier calibration replaced."""

from __future__ import annotations

import pytest

from octsearch.calibrate.ladder import Rung
from octsearch.calibrate.write import calibrated_text, check_calibrated
from octsearch.errors import ConfigError
from octsearch.spaces import parse_space

TEXT = """\
# a space (kept)
model: {name: oct_resnet20, args: {width_mult: 0.5}}
data:
  name: mnist
  val_fraction: 0.2       # 4,000 and 1,000 (kept)

budget:
  epochs: 2               # the proxy (kept)
  batch_size: 64
search: {per: stage, grid: [0, 0.5]}
sampler: {name: random, trials: 40}
"""
BASE = Rung(2, 4000, 1000, 0.0)


def test_the_rung_is_written_with_every_comment_kept_and_a_second_write_replaces_the_first():
    text = calibrated_text(TEXT, Rung(4, 4000, 1000, 0.99), BASE, ("resolves +/-0.4", "measured by: octsearch calibrate x"))
    spec = parse_space(text)
    assert (spec.budget.epochs, spec.budget.ema, spec.budget.batch_size) == (4, 0.99, 64)
    assert spec.data == parse_space(TEXT).data  # the split untouched: the rung keeps it
    assert "# a space (kept)" in text and "# 4,000 and 1,000 (kept)" in text and "epochs: 4               # the proxy (kept)" in text
    assert "# calibrated: resolves +/-0.4\n# calibrated  measured by: octsearch calibrate x\nbudget:\n" in text
    again = calibrated_text(text, Rung(1, 3000, 2000, 0.0), BASE, ("resolves +/-0.9",))
    assert again.count("# calibrated") == 1 and "# calibrated: resolves +/-0.9\nbudget:" in again
    spec = parse_space(again)
    assert (spec.budget.epochs, spec.budget.ema, spec.data.limit, spec.data.val_fraction) == (1, 0.0, 5000, 0.4)
    assert "val_fraction: 0.4       # 4,000 and 1,000 (kept)" in again


def test_a_section_on_one_line_is_refused_in_one_line():
    flow = TEXT.replace("budget:\n  epochs: 2               # the proxy (kept)\n  batch_size: 64\n", "budget: {epochs: 2}\n")
    with pytest.raises(ConfigError, match=r"^the space file's budget: section is written on one line; accepted: a block-style"):
        calibrated_text(flow, Rung(4, 4000, 1000, 0.0), BASE, ("x",))


def test_a_text_that_does_not_read_back_as_the_rung_is_refused(tmp_path):
    with pytest.raises(ConfigError, match=r"reads back as epochs=2, ema=0, not the rung's epochs=3"):
        check_calibrated(TEXT, Rung(3, 4000, 1000, 0.0), tmp_path / "s.yaml")
