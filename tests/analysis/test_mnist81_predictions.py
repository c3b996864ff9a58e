"""The model's predictions, contrasts and pick on copies of bench/tables/mnist81.db (81 configurations
x 3 seeds): the figures the README quotes, and every configuration of the space predicted where the
search left some unevaluated (their FLOPs counted with the space's cost model, checked against the
table's stored counts)."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest

from octsearch.analysis.pick import model_best
from octsearch.analysis.versus_curve import versus_uniform_curve
from octsearch.cli.main import main
from octsearch.store import SearchSpec, open_store

TABLE = Path(__file__).resolve().parents[2] / "bench" / "tables" / "mnist81.db"


@pytest.fixture(scope="module")
def mnist81(tmp_path_factory) -> str:
    copy = tmp_path_factory.mktemp("mnist81") / "mnist81.db"
    shutil.copyfile(TABLE, copy)
    return f"sqlite:///{copy}"


def test_the_mnist81_model_based_contrasts_and_pick(mnist81):
    with open_store(mnist81, create=False, upgrade=False) as store:
        verdict = versus_uniform_curve(store, "mnist81")
        pick = model_best(store, "mnist81", 6e6)
    by_trial = {c.trial: c for c in verdict.contrasts}
    assert [c.trial for c in verdict.contrasts] == [80, 74, 50, 70, 26, 49, 17, 4]
    assert by_trial[80].kind == "uniform" and len(verdict.compared) == 7
    four = by_trial[4]  # stage 1 at alpha 0, stage 2 at .25: above the curve between uniform .25 and 0
    assert (four.lower, four.upper) == (0.25, 0.0)
    assert four.estimate == pytest.approx(0.95, abs=0.005) and four.se == pytest.approx(0.25, abs=0.005)
    assert four.p_holm == pytest.approx(0.0011, abs=0.0001) and four.significant
    assert [c.trial for c in verdict.compared if c.significant] == [4]
    assert by_trial[74].estimate == pytest.approx(-0.64, abs=0.005) and by_trial[74].p_holm > 0.05
    assert (pick.trial, pick.candidates) == (22, 38) and pick.prediction.predicted == pytest.approx(93.94, abs=0.005)


@pytest.fixture
def part_url(mnist81, tmp_path) -> str:
    """A search of mnist81's space that evaluated 60 of its 81 configurations (every trial but
    0, 4, ..., 80), copied through the store's public API."""
    url = f"sqlite:///{tmp_path / 'part.db'}"
    with open_store(mnist81, create=False, upgrade=False) as table:
        record = table.get_search("mnist81")
        trials, evaluations = table.trials("mnist81"), table.evaluations("mnist81")
    with open_store(url) as store:
        store.create_search(SearchSpec(
            name="part", space_text=record.space_text, model_name=record.model_name, model_args=record.model_args,
            reference_accuracy=record.reference_accuracy, reference_flops=record.reference_flops,
            objectives=record.objectives))
        numbers = {t.number: store.start_trial("part", t.configuration) for t in trials if t.number % 4}
        for e in evaluations:
            if e.trial in numbers:
                store.record_evaluation("part", numbers[e.trial], seed=e.seed, accuracy=e.accuracy, n_val=e.n_val)
    return url


def test_every_configuration_of_the_space_is_predicted(part_url, mnist81, capsys, tmp_path):
    out_file = tmp_path / "predictions.csv"
    code = main(["effects", "part", "--db", part_url, "--predictions", str(out_file)])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert ("model-based front: the configurations no other beats in predicted validation accuracy at no more FLOPs, "
            "among all 81 of the space (81 predicted, 21 FLOP counts made here with the space's cost model") in out
    assert f"predictions written to {out_file}" in err
    rows = list(csv.DictReader(out_file.read_text().splitlines()))
    assert len(rows) == 81 and sum(r["trial"] == "" for r in rows) == 21
    with open_store(mnist81, create=False, upgrade=False) as table:
        stored = {tuple(t.configuration.by_param.values()): t.flops_paper for t in table.trials("mnist81")}
    params = ("stage1.out", "stage1.inner", "stage2.out", "stage2.inner")
    for row in rows:  # counted here or stored: the table's own counts either way
        assert int(row["flops_multiply_adds"]) == stored[tuple(float(row[p]) for p in params)]
    unevaluated = [r for r in rows if r["trial"] == ""]
    assert all(r["observed_mean_points"] == "" and float(r["se_points"]) > 0 for r in unevaluated)
    assert any(r["on_model_front"] == "True" for r in rows)
