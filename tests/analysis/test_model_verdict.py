"""The model-based verdict against uniform alpha (`pareto --versus-uniform`), the model's pick
(`export --model-best`) and the launch's closing line about effects, on planted tables written to
real SQLite stores through the store's public API, fit with real statsmodels."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest
import statsmodels.formula
from planted_tables import CONFIGS, FLOPS, PARAMS, planted_table

from octsearch.analysis.evaluations import read_evaluations
from octsearch.analysis.pipeline import fit_search
from octsearch.analysis.predict import predict
from octsearch.analysis.versus_curve import judge_front, versus_uniform_curve
from octsearch.cli.effects_view import effects_line
from octsearch.cli.main import main
from octsearch.config_file import read_config
from octsearch.errors import ConfigError
from octsearch.store import open_store

# one parameter with a known effect: stage2.out at .25 adds 3 points at equal FLOPs
KNOWN = {"stage1.out": {}, "stage1.inner": {}, "stage2.out": {0.25: 3.0}, "stage2.inner": {}}
USES_IT, DOES_NOT = CONFIGS.index((0, 0, 0.25, 0)), CONFIGS.index((0.25, 0, 0, 0))


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _true_effects(alphas: tuple[float, ...]) -> float:
    return sum(KNOWN[p].get(a, 0.0) for p, a in zip(PARAMS, alphas, strict=True))


@pytest.fixture
def known_url(write_table):
    return write_table(planted_table(np.random.default_rng(11), KNOWN, seeds=2))


def test_the_contrast_recovers_a_planted_effect(known_url):
    with open_store(known_url, create=False, upgrade=False) as store:
        model = fit_search(read_evaluations(store, "planted"))
    verdict = judge_front(model, [USES_IT, DOES_NOT, CONFIGS.index((0.5,) * 4)])
    uses, does_not, uniform = verdict.contrasts
    assert uniform.kind == "uniform" and uniform.estimate is None
    for c in (uses, does_not):
        assert c.kind == "compared" and (c.lower, c.upper) == (0.25, 0.0) and 0 < c.weight < 1
        # the truth by the same definition: the member's effects minus the uniform curve's at its FLOPs
        truth = _true_effects(CONFIGS[c.trial]) - (1 - c.weight) * _true_effects((0.25,) * 4)
        assert abs(c.estimate - truth) <= 2 * c.se, (c.trial, c.estimate, truth, c.se)
        assert c.se == max(c.se_cluster, c.se_classic) and c.p_holm >= c.p
    assert uses.estimate > 0 and uses.p_holm < 0.05 and uses.significant  # uses it: above the curve
    assert does_not.estimate < 0  # the uniform .25 point carries the effect, this member does not
    assert verdict.uniforms == ((0.5, FLOPS[-1]), (0.25, FLOPS[CONFIGS.index((0.25,) * 4)]), (0.0, FLOPS[0]))


def test_predictions_are_the_same_under_either_formula_engine(known_url, monkeypatch):
    with open_store(known_url, create=False, upgrade=False) as store:
        e = read_evaluations(store, "planted")
    rows = e.frame.drop_duplicates("trial").head(6)
    patsy = predict(fit_search(e).fitted, rows)
    monkeypatch.setattr(statsmodels.formula.options, "formula_engine", "formulaic")
    formulaic = predict(fit_search(e).fitted, rows)
    assert [p.predicted for p in patsy] == pytest.approx([p.predicted for p in formulaic])
    assert [p.se for p in patsy] == pytest.approx([p.se for p in formulaic])
    assert [p.trial for p in patsy] == list(range(6)) and not any(p.extrapolated for p in patsy)


def test_pareto_labels_both_verdicts_with_their_units(known_url, capsys):
    code, out, err = run(capsys, "pareto", "planted", "--versus-uniform", "--db", known_url)
    assert code == 0, err
    pairwise, model = out.index("pairwise test: versus uniform alpha (budget proxy)"), out.index("model-based contrast: ")
    assert pairwise < model
    assert "pairwise test: per-layer beats uniform at" in out
    assert ("model-based contrast: each front member against the uniform-alpha curve at its own FLOPs, from the model "
            "of 162 evaluations of 81 configurations (budget proxy; predicted val acc in % of the validation split, "
            "contrast in points of it at equal FLOPs; GFLOPs = 1e9 conv+fc multiply-adds)") in out
    assert "model-based contrast: per-layer above the uniform curve for" in out
    assert "definition: contrast = the model's predicted accuracy of the member minus that of the uniform-alpha curve" in out
    assert "rests on: additive alpha effects" in out and "leave-one-seed-out RMSE" in out and "interactions:" in out
    assert out.rstrip().endswith(f"octsearch effects planted --db {known_url}")

    code, out, _ = run(capsys, "pareto", "planted", "--versus-uniform", "--format", "json", "--db", known_url)
    data = json.loads(out)["model_based"]
    assert data["label"] == "model-based contrast" and data["units"]["estimate"].startswith("points of validation")
    assert {c["trial"] for c in data["contrasts"]} == {r["trial"] for r in json.loads(out)["front"]}
    code, out, _ = run(capsys, "pareto", "planted", "--versus-uniform", "--format", "csv", "--db", known_url)
    rows = list(csv.DictReader(io.StringIO(out)))
    assert {"model_kind", "model_contrast_points", "model_se_points", "model_p_holm"} <= set(rows[0])


def test_a_model_that_cannot_be_fit_leaves_the_pairwise_test_standing(write_table, capsys):
    url = write_table(planted_table(np.random.default_rng(5), KNOWN, seeds=1).iloc[::7])  # 12 evaluations
    code, out, err = run(capsys, "pareto", "planted", "--versus-uniform", "--db", url)
    assert code == 0, err
    assert "pairwise test: versus uniform alpha" in out
    assert "model-based contrast: not computed (search 'planted' at budget 'proxy': 12 evaluations for a model" in out
    with open_store(url, create=False, upgrade=False) as store, pytest.raises(ConfigError, match="2 more"):
        versus_uniform_curve(store, "planted")


def test_export_picks_what_the_model_predicts_best_under_a_budget(known_url, capsys, tmp_path):
    budget = FLOPS[USES_IT]  # multiply-adds; the options take GFLOPs
    out_file = tmp_path / "pick.json"
    code, out, err = run(capsys, "export", "planted", "--model-best", f"{budget / 1e9:.9f}", "-o", str(out_file),
                         "--db", known_url)
    assert code == 0, err
    first, chosen = out.splitlines()[:2]
    config = read_config(out_file)
    pick = config.extra["model_choice"]
    assert f"(the model's pick within {budget / 1e9:.4f} GFLOPs (conv+fc multiply-adds" in first
    assert chosen.startswith(f"chosen by the model (octsearch effects planted --db {known_url}): trial {config.trial} "
                             f"predicted {pick['prediction']['predicted']:.2f} ± {pick['prediction']['se']:.2f} % val acc")
    assert config.extra["selection"]["rule"] == "model_best" and "model" in config.extra["selection"]["chosen_by"]
    assert config.flops_paper <= budget and dict(pick["prediction"]["alphas"])["stage2.out"] == 0.25
    with open_store(known_url, create=False, upgrade=False) as store:
        model = fit_search(read_evaluations(store, "planted"))
    configs = model.kept.drop_duplicates("trial")
    best = max(predict(model.fitted, configs[configs["flops"] <= budget]), key=lambda p: p.predicted)
    assert (config.trial, pick["prediction"]["predicted"]) == (best.trial, pytest.approx(best.predicted))
    assert pick["runner_up"]["predicted"] <= best.predicted and pick["margin"]["se"] > 0
    assert "versus_uniform" in config.extra  # the pairwise verdict still joins the same file


def test_a_budget_below_every_configuration_is_one_line(known_url, capsys, tmp_path):
    out_file = tmp_path / "pick.json"
    code, out, err = run(capsys, "export", "planted", "--model-best", "0.0001", "-o", str(out_file), "--db", known_url)
    assert code == 2 and out == "" and err.count("\n") == 1
    cheapest = CONFIGS.index((0.5,) * 4)
    assert ("--model-best 0.0001: no configuration the model of search 'planted' was fit on has at most 0.0001 GFLOPs "
            f"(conv+fc multiply-adds, 1% of alpha 0); the cheapest is trial {cheapest} with "
            f"{FLOPS[cheapest] / 1e9:.4f} GFLOPs") in err
    assert not out_file.exists()


def test_the_launch_closing_line_names_the_effects(known_url, write_table):
    line = effects_line(known_url, "planted")
    assert "\n" not in line
    assert line.startswith("alpha effects at equal FLOPs (model of 162 evaluations of 81 configurations, budget proxy; "
                           "points of validation accuracy): resolved after Holm at 5%: stage2.out at alpha .25 +")
    assert line.endswith(f"details: octsearch effects planted --db {known_url}")


def test_the_launch_closing_line_when_nothing_is_resolved_or_fit(write_table):
    null = {p: {} for p in PARAMS}
    url = write_table(planted_table(np.random.default_rng(12), null, seeds=2), name="null")
    line = effects_line(url, "null")
    assert "none resolved yet: the smallest effect the data could detect is +/-" in line and "points (80% power" in line
    few = write_table(planted_table(np.random.default_rng(5), seeds=1).iloc[::7], name="few")
    line = effects_line(few, "few")
    assert line.startswith("alpha effects at equal FLOPs: not modelled yet (search 'few' at budget 'proxy': 12 "
                           "evaluations for a model of 11 terms") and "2 more" in line
